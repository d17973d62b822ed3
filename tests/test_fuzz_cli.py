"""Issue #11: the zoo command driven with many generated bad argument lists, malformed recipes and hostile
archives. No traceback and no "internal error" may reach the user; every exit code is one the README
lists; nothing is written outside the zoo and cache folders.

Set ZOO_FUZZ_REPORT=FILE to have the trial counts written there (they go into closing notes).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FileServer, minimal_recipe, sha256, write_recipe
from zookit.__main__ import main

TRACEBACK = "Traceback (most recent call last)"


def fuzz(default: int) -> settings:
    """Settings of one fuzz run: ZOO_FUZZ_EXAMPLES overrides the number of trials. The examples are the
    same on every run (derandomized), so a change fails CI only for what it broke; ZOO_FUZZ_RANDOM=1
    draws new ones (a longer hunt: ZOO_FUZZ_RANDOM=1 ZOO_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_cli.py),
    and what such a hunt finds becomes an explicit case in test_examples_found_by_earlier_hunts."""
    examples = int(os.environ.get("ZOO_FUZZ_EXAMPLES", default))
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=os.environ.get("ZOO_FUZZ_RANDOM") != "1",
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Recipes (good and broken), hostile model files and folders, a server answering 404 or bytes."""
    root = tmp_path_factory.mktemp("fuzz")
    server = FileServer()
    recipes = root / "recipes"
    good = minimal_recipe("toy")
    good["sources"][0].update(urls=[server.add("toy.pb", b"not a graph")])
    write_recipe(recipes, good)
    gone = minimal_recipe("gone")
    gone["sources"][0].update(urls=[server.add("gone.pb", b"", mode="404")])
    write_recipe(recipes, gone)
    (recipes / "tagged.yaml").write_text("name: tagged\ndescription: !!float abc\n")
    (recipes / "broken.yaml").write_text("name: [broken\n")
    files = root / "files"
    files.mkdir()
    (files / "empty.onnx").write_bytes(b"")
    (files / "text.onnx").write_text("hello")
    (files / "junk.tflite").write_bytes(os.urandom(300))
    (files / "model.pb").write_bytes(b"\x0a\x05")
    (files / "dir.onnx").mkdir()
    (root / "afile").write_text("x")
    (root / "outside").mkdir()
    env = {"ZOO_DIR": str(root / "zoo"), "ZOO_CACHE_DIR": str(root / "cache")}
    saved = {k: os.environ.get(k) for k in (*env, "ZOO_MIRROR", "ZOO_RECIPES", "TIDL_TOOLS_PATH")}
    os.environ.update(env)
    for k in ("ZOO_MIRROR", "ZOO_RECIPES", "TIDL_TOOLS_PATH"):
        os.environ.pop(k, None)
    here = Path.cwd()
    (root / "cwd").mkdir()
    os.chdir(root / "cwd")  # relative paths the fuzz makes up land here, never in the checkout
    # toy is fetched, so convert, verify, tidl and run reach TensorFlow with a source that is no graph
    assert call(["--recipes", str(recipes), "fetch", "toy"])[0] == 0
    yield {"root": root, "recipes": recipes, "files": files, "server": server}
    os.chdir(here)
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help, or a usage error
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def judge(counts: Counter[str], code: int, out: str, err: str, json_out: bool = False) -> None:
    counts["trials"] += 1
    if TRACEBACK in err or TRACEBACK in out or "internal error" in err:
        counts["tracebacks"] += 1
        raise AssertionError(err)
    assert code in (0, 1, 2, 130), (code, err)
    if code:
        if json_out and out.strip() and not err.strip():  # --json: the why is in the document
            json.loads(out)
        else:
            assert err.strip(), "a failure must say why"
        counts["clean errors"] += 1
        counts["refused by the parser" if "--help')" in err else "refused by the command"] += 1
    else:
        counts["successes"] += 1


def report(name: str, counts: Counter[str]) -> None:
    target = os.environ.get("ZOO_FUZZ_REPORT")
    if target:
        data = json.loads(Path(target).read_text()) if Path(target).is_file() else {}
        data[name] = dict(counts)
        Path(target).write_text(json.dumps(data, indent=1))


def outside_untouched(root: Path) -> None:
    assert not list((root / "outside").iterdir())
    # what the fuzz may name: its zoo and cache folders, a missing path it may create, the working folder
    allowed = {
        "recipes",
        "files",
        "afile",
        "outside",
        "zoo",
        "cache",
        "mirror",
        "z2",
        "c2",
        "r2",
        "missing",
        "cwd",
    }
    assert {p.name for p in root.iterdir()} <= allowed, sorted(p.name for p in root.iterdir())


# --- argument lists -------------------------------------------------------------------------------

COMMANDS = [
    "list",
    "show",
    "validate",
    "schema",
    "fetch",
    "convert",
    "verify",
    "tidl",
    "run",
    "clean",
    "check",
    "inspect",
    "new",
    "report",
    "diagnose",
    "evaluate",
    "benchmark",
    "tflm",
    "openvino",
    "ethos-u",
]


def argv_strategy(world: dict[str, Any]) -> st.SearchStrategy[list[str]]:
    root, files = world["root"], world["files"]
    paths = [
        str(root / "zoo"),
        str(root / "z2"),
        str(root / "afile"),
        str(root / "missing"),
        "/proc/x",
        str(files),
        str(files / "empty.onnx"),
        str(files / "text.onnx"),
        str(files / "junk.tflite"),
        str(files / "dir.onnx"),
        "",
        "-",
    ]
    values = st.one_of(
        st.sampled_from(["0", "-1", "-2", "1", "2", "nan", "inf", "1e999", "abc", "", "0x10", "3.5", " 1"]),
        st.sampled_from(paths),
        st.sampled_from(["toy", "gone", "tagged", "broken", "nope", "../toy", "TOY", "--all"]),
        st.text(max_size=6),
    )
    options = st.sampled_from(
        [
            "--all",
            "--json",
            "--strict",
            "--force",
            "--offline",
            "--require-hashes",
            "--sources",
            "--cache",
            "-v",
            "--help",
            "--zoo-dir",
            "--cache-dir",
            "-j",
            "--jobs",
            "--timeout",
            "--deadline",
            "--mirror",
            "--images",
            "--calibration-images",
            "--tidl-tools",
            "--target",
            "--quant",
            "--report",
            "--out",
            "--baseline",
            "--fail-on-regression",
            "--margin",
            "--run",
            "--recipes",
            "--from",
            "--data",
            "--samples",
            "--threads",
            "--warmup",
            "--runs",
            "--bogus",
            "-x",
        ]
    )
    word = st.one_of(options, values)
    loose = st.builds(
        lambda command, words: ["--recipes", str(world["recipes"]), command, *words],
        st.sampled_from(COMMANDS),
        st.lists(word, max_size=7),
    )
    # well-formed shapes with hostile values, so the handlers run (not only the parser)
    numbers = st.sampled_from(["0", "-1", "1", "2", "nan", "inf", "1e999", "abc", "0.01", "1e-9"])
    valued = {
        "--zoo-dir": st.sampled_from(paths),
        "--cache-dir": st.sampled_from(paths),
        "--images": st.sampled_from(paths),
        "--calibration-images": st.sampled_from(paths),
        "--tidl-tools": st.sampled_from(paths),
        "--mirror": st.sampled_from([*paths, "http://127.0.0.1:9/", "ftp://x", "http://[::1"]),
        "--report": st.sampled_from(
            [*paths, str(root / "zoo" / "report.json"), str(root / "zoo" / "r.html")]
        ),
        "--out": st.sampled_from(paths),
        "--baseline": st.sampled_from([*paths, str(files / "text.onnx"), str(root / "zoo" / "report.json")]),
        "--run": st.sampled_from([*paths, str(files / "text.onnx")]),
        "--margin": st.sampled_from(["5%", "5", "0", "-1%", "nan", "1e999", "%", "abc", "1001"]),
        "-j": numbers,
        "--timeout": numbers,
        "--deadline": numbers,
        "--target": st.sampled_from(["tflite-float32", "onnx", "nope", ""]),
        "--quant": st.sampled_from(["int8", "float16", "dynamic", "none", "bogus"]),
        "--goal": st.sampled_from(["top1=0.99", "top1=2", "max_rel=-1", "acc=1", "", "top1=nan"]),
        "--calibration-sizes": st.sampled_from(["8,16", "-1", "a,b", "", "0", "1e999"]),
        "--from": st.sampled_from([*paths, "http://127.0.0.1:9/m.onnx", "ftp://x/m.onnx"]),
        "--data": st.sampled_from(paths),
        "--samples": st.sampled_from(paths),
        "--threads": st.sampled_from(["1,2", "0", "-1", "a", "", "1,,2", "1e999", "99999999"]),
        "--warmup": numbers,
        "--runs": numbers,
    }
    pair = st.sampled_from(sorted(valued)).flatmap(lambda o: st.tuples(st.just(o), valued[o]))
    flags = st.sampled_from(["--all", "--json", "--strict", "--force", "--offline", "--require-hashes", "-v"])
    shaped = st.builds(
        lambda command, names, flag_list, pairs: [
            "--recipes",
            str(world["recipes"]),
            command,
            *names,
            *flag_list,
            *[x for p in pairs for x in p],
        ],
        st.sampled_from(COMMANDS),
        st.lists(
            st.sampled_from(["toy", "gone", "tagged", "broken", "nope", str(files / "junk.tflite")]),
            max_size=2,
        ),
        st.lists(flags, max_size=3, unique=True),
        st.lists(pair, max_size=3),
    )
    return st.one_of(loose, shaped, shaped)


def test_generated_argument_lists_never_show_a_traceback(world: dict[str, Any]) -> None:
    counts: Counter[str] = Counter()

    @fuzz(1500)
    @given(argv=argv_strategy(world))
    def trial(argv: list[str]) -> None:
        if argv[2] == "run":  # the zoo's recipes point at 127.0.0.1; offline keeps every run quick
            argv = [*argv, "--offline"]
        judge(counts, *call(argv), json_out="--json" in argv)

    trial()
    outside_untouched(world["root"])
    report("argument lists", counts)
    assert counts["tracebacks"] == 0 and counts["trials"] >= 100


# Argument lists that randomized hunts found to break the CLI, kept as explicit cases.
FOUND_BY_HUNTS = [
    ["validate", "\x00"],  # ValueError: embedded null byte (issue #24 point 9)
    ["check", "\x00"],
    ["inspect", "\x00"],
    ["new", "ok", "--from", "\x00"],
    ["validate", "ok.yaml", "\x00x"],
]


@pytest.mark.parametrize("args", FOUND_BY_HUNTS, ids=repr)
def test_examples_found_by_earlier_hunts(world: dict[str, Any], args: list[str]) -> None:
    counts: Counter[str] = Counter()
    code, out, err = call(["--recipes", str(world["root"]), *args])
    judge(counts, code, out, err)
    assert code == 2 and "NUL" in err and len(err.strip().splitlines()) <= 3


# Argument lists the independent hostile run of issue 28 found accepted or answered with exit 1
FOUND_BY_HOSTILE_RUN = [
    (
        ["new", "zoo-lock.json", "--from", "{files}/text.onnx"],
        "NAME: 'zoo-lock.json' is the zoo's checksum lock",
    ),
    (["new", "ok", "--from", "{files}/text.onnx", "--url", "https://h.invalid/a b.onnx"], "--url: "),
    (["new", "ok", "--from", "{files}/text.onnx", "--url", "https://h.invalid/a.onnx\nx: 1"], "--url: "),
]


@pytest.mark.parametrize(("args", "fragment"), FOUND_BY_HOSTILE_RUN, ids=repr)
def test_examples_found_by_the_hostile_run(world: dict[str, Any], args: list[str], fragment: str) -> None:
    counts: Counter[str] = Counter()
    argv = [a.replace("{files}", str(world["files"])) for a in args]
    code, out, err = call(["--recipes", str(world["root"]), *argv])
    judge(counts, code, out, err)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, (code, err)
    assert not list(Path.cwd().glob("*.yaml"))


# --- malformed recipes ------------------------------------------------------------------------------

HOSTILE_VALUES = [
    "!!float abc",
    "!!int 0xZZ",
    "!!timestamp 2024-13-45",
    "!!binary ###",
    "!!python/object:os.system ls",
    "1" * 4400,
    "[" * 200,
    "&a [*a]",
    "*undefined",
    '"\\0"',
    '"' + "x" * 300 + '"',
    "{a: 1, a: 2}",
    "-1",
    "1e999",
    ".nan",
    "null",
    "[]",
    "{}",
    "''",
    "~",
    "yes",
    "0o777",
    "! x",
    "|\n  block",
    "\t",
]


def recipe_text_strategy() -> st.SearchStrategy[str]:
    lines = yaml.safe_dump(minimal_recipe("toy"), sort_keys=False).splitlines()

    def mutate(picks: list[tuple[int, int, str]]) -> str:
        out = list(lines)
        for kind, index, value in picks:
            i = index % len(out)
            if kind == 0 and ":" in out[i]:  # a hostile value for a key
                out[i] = out[i].split(":", 1)[0] + ": " + value
            elif kind == 1:
                del out[i]
            elif kind == 2:
                out.insert(i, value)
            else:
                out[i] = out[i][: len(value)] + value
        return "\n".join(out) + "\n"

    pick = st.tuples(
        st.integers(0, 3),
        st.integers(0, 200),
        st.one_of(st.sampled_from(HOSTILE_VALUES), st.text(max_size=12)),
    )
    return st.builds(mutate, st.lists(pick, min_size=1, max_size=4))


def test_malformed_recipes_are_reported_not_raised(world: dict[str, Any]) -> None:
    counts: Counter[str] = Counter()
    folder = world["root"] / "r2"
    folder.mkdir(exist_ok=True)

    @fuzz(1300)
    @given(text=recipe_text_strategy(), command=st.sampled_from(["validate", "list", "show", "fetch"]))
    def trial(text: str, command: str) -> None:
        path = folder / "toy.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        argv = {
            "validate": ["validate", str(path)],
            "list": ["--recipes", str(folder), "list", "--json"],
            "show": ["--recipes", str(folder), "show", "toy"],
            "fetch": ["--recipes", str(folder), "fetch", "toy", "--offline"],
        }[command]
        judge(counts, *call(argv), json_out="--json" in argv)

    trial()
    outside_untouched(world["root"])
    report("malformed recipes", counts)
    assert counts["tracebacks"] == 0


# --- hostile archives -------------------------------------------------------------------------------

NAMES = [
    "model.pb",
    "d",
    "d/f",
    "d/model.pb",
    "..",
    "../evil",
    "/abs",
    ".",
    "",
    "a/../../b",
    "x" * 300,
    "d/../model.pb",
]
KINDS = ["file", "dir", "sym", "hard", "fifo"]


def archive_strategy() -> st.SearchStrategy[tuple[str, list[tuple[str, str, str]], int]]:
    entry = st.tuples(
        st.sampled_from(NAMES), st.sampled_from(KINDS), st.sampled_from([*NAMES, "/etc/passwd"])
    )
    return st.tuples(st.sampled_from(["tgz", "zip"]), st.lists(entry, max_size=5), st.integers(0, 3))


def build_archive(kind: str, entries: list[tuple[str, str, str]], cut: int) -> bytes:
    buffer = io.BytesIO()
    if kind == "tgz":
        with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
            for name, what, link in entries:
                info = tarfile.TarInfo(name)
                info.type = {
                    "file": tarfile.REGTYPE,
                    "dir": tarfile.DIRTYPE,
                    "sym": tarfile.SYMTYPE,
                    "hard": tarfile.LNKTYPE,
                    "fifo": tarfile.FIFOTYPE,
                }[what]
                info.linkname = link if what in ("sym", "hard") else ""
                data = b"payload" if what == "file" else b""
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data) if data else None)
    else:
        with zipfile.ZipFile(buffer, "w") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are what the fuzz wants
            for name, what, link in entries:
                info = zipfile.ZipInfo(name + ("/" if what == "dir" and name else ""))
                if what == "sym":
                    info.external_attr = 0o120777 << 16
                zf.writestr(info, link if what == "sym" else b"payload")
    data = buffer.getvalue()
    return data[: len(data) * (4 - cut) // 4] if cut else data


def test_hostile_archives_are_refused_by_name(world: dict[str, Any]) -> None:
    counts: Counter[str] = Counter()
    root = world["root"]
    mirror, recipes = root / "mirror", root / "r2"
    mirror.mkdir(exist_ok=True)
    recipes.mkdir(exist_ok=True)

    @fuzz(600)
    @given(spec=archive_strategy(), members=st.booleans())
    def trial(spec: tuple[str, list[tuple[str, str, str]], int], members: bool) -> None:
        data = build_archive(*spec)
        name = f"model.{spec[0]}"
        (mirror / name).write_bytes(data)
        doc = minimal_recipe("arch")
        doc["sources"] = [
            {
                "file": name,
                "urls": ["http://127.0.0.1:9/" + name],
                "size": len(data),
                "checksum": sha256(data),
                "members": [{"path": "model.pb"}] if members else [],
            }
        ]
        doc["model"]["path"] = "model.pb"
        write_recipe(recipes, doc)
        argv = ["--recipes", str(recipes), "fetch", "arch", "--offline", "--mirror", str(mirror)]
        code, out, err = call([*argv, "--zoo-dir", str(root / "z2"), "--cache-dir", str(root / "c2")])
        judge(counts, code, out, err)
        if code:
            assert f"arch/{name}" in err, err  # named by model and file, not by the cache digest
            assert sha256(data).split(":")[1] not in err
        outside_untouched(root)
        assert not list((root / "z2").glob("arch/source/.unpack-*"))

    trial()
    report("hostile archives", counts)
    assert counts["tracebacks"] == 0
