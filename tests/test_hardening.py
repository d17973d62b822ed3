"""Issue #11: every command against hostile files, broken environments and user mistakes.

Each test is named after the point of the issue it pins (``test_1_...`` to ``test_17_...``). Each case
ends in one clear line (file, field or path named; exit code per the README) or in a verified result,
with nothing written outside the zoo and cache and no corrupted file under a final name.
"""

from __future__ import annotations

import email.utils
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

import standins
from conftest import REPO, FileServer, minimal_recipe, sha256, write_recipe
from test_convert import real_recipe, serve_source
from test_fetch import FAST, PAYLOAD, assert_no_leftovers, fetch, options, recipe_for
from zookit.__main__ import main
from zookit.errors import ArchiveError, RecipeError, UsageError
from zookit.fetch import max_unpacked_from_env, parse_size
from zookit.fetch.cache import Cache, key_for
from zookit.fetch.downloaders import HttpDownloader, HttpOptions, SourceFailed
from zookit.recipe import load_recipe

TRACEBACK = "Traceback (most recent call last)"


def one_line_error(err: str) -> str:
    """The one line a failing command printed: no traceback, nothing else on stderr."""
    assert TRACEBACK not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def zoo(*argv: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    """The zoo command in its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "zookit", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {})),
        **kw,
    )


def served_recipe(server: FileServer, folder: Path, data: bytes = PAYLOAD, **source: Any) -> Path:
    url = server.add(source.pop("file", "toy.pb"), data, **source.pop("serve", {}))
    doc = minimal_recipe("toy")
    doc["sources"] = [
        {"file": url.rsplit("/", 1)[1], "urls": [url], "size": len(data), "checksum": sha256(data)}
    ]
    doc["sources"][0].update(source)
    return write_recipe(folder, doc)


# --- 1, 2: symbolic links ---------------------------------------------------------------------------


def test_1_links_planted_in_the_cache_are_not_followed(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    victim.chmod(0o600)
    cache = Cache(tmp_path / "cache")
    part = cache.partial(key_for(sha256(PAYLOAD), url))
    part.symlink_to(victim)  # a download would land in (or resume into) the victim
    result = fetch(recipe_for([url]), options(tmp_path, cache=cache))
    assert result.status == "downloaded", result.error
    assert victim.read_bytes() == b"precious"

    entry = cache.entry(sha256(PAYLOAD))
    entry.chmod(0o644)
    entry.unlink()
    entry.symlink_to(victim)  # a cache entry that points elsewhere: never chmod-ed, read or handed out
    result = fetch(recipe_for([url]), options(tmp_path, cache=cache, zoo_dir=tmp_path / "zoo2"))
    assert result.status == "downloaded", result.error
    assert victim.read_bytes() == b"precious" and stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not entry.is_symlink() and entry.read_bytes() == PAYLOAD
    assert (tmp_path / "zoo2" / "toy" / "source" / "toy.pb").read_bytes() == PAYLOAD


def test_1_a_partial_file_is_opened_without_following_a_link(server: FileServer, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    part = tmp_path / "x.part"
    part.symlink_to(victim)  # planted after the cache's own check: the open itself refuses
    downloader = HttpDownloader(FAST)
    with pytest.raises(SourceFailed, match="symbolic link"):
        downloader.download(server.add("toy.pb", PAYLOAD), part, algo="sha256", size=len(PAYLOAD))
    downloader.close()
    assert victim.read_bytes() == b"precious"


def test_2_a_linked_folder_in_source_is_not_written_through(server: FileServer, tmp_path: Path) -> None:
    tgz = standins.targz({"sub/model.pb": PAYLOAD})
    url = server.add("model.tgz", tgz)
    outside = tmp_path / "outside"
    outside.mkdir()
    source = tmp_path / "zoo" / "toy" / "source"
    source.mkdir(parents=True)
    (source / "sub").symlink_to(outside)
    recipe = recipe_for(
        [url], checksum=sha256(tgz), size=len(tgz), file="model.tgz", members=[{"path": "sub/model.pb"}]
    )
    result = fetch(recipe, options(tmp_path))
    assert result.status == "failed" and "symbolic link" in result.error and "toy/model.tgz" in result.error
    assert list(outside.iterdir()) == []


def test_2_a_linked_model_folder_is_refused_and_clean_skips_it(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipes = tmp_path / "recipes"
    served_recipe(server, recipes)
    outside = tmp_path / "outside"
    (outside / "tflite-float32").mkdir(parents=True)
    (outside / "tflite-float32" / "keep.txt").write_text("not the zoo's")
    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "toy").symlink_to(outside)
    common = ["--recipes", str(recipes)]
    zoo_dir = ["--zoo-dir", str(tmp_path / "zoo"), "--cache-dir", str(tmp_path / "cache")]
    assert main([*common, "fetch", "toy", *zoo_dir]) == 1
    assert "is a symbolic link" in capsys.readouterr().err
    assert main([*common, "clean", "toy", "--zoo-dir", str(tmp_path / "zoo")]) == 0
    assert "a symbolic link" in capsys.readouterr().err
    assert (outside / "tflite-float32" / "keep.txt").read_text() == "not the zoo's"

    # a link inside a real model folder is removed as a link by clean, its target kept
    (tmp_path / "zoo" / "toy").unlink()
    (tmp_path / "zoo" / "toy").mkdir()
    (tmp_path / "zoo" / "toy" / "tflite-float32").symlink_to(outside / "tflite-float32")
    assert main([*common, "clean", "toy", "--zoo-dir", str(tmp_path / "zoo")]) == 0
    assert not (tmp_path / "zoo" / "toy" / "tflite-float32").exists()
    assert (outside / "tflite-float32" / "keep.txt").is_file()


@pytest.mark.slow
def test_2_a_linked_target_folder_is_refused_and_its_files_are_kept(
    server: FileServer, tmp_path: Path
) -> None:
    recipes = tmp_path / "recipes"
    doc = real_recipe("resnet50_v1")
    doc["targets"] = [{"name": "tflite-float32", "format": "tflite"}]
    doc.pop("openvino", None)  # its ONNX target is cut
    serve_source(doc, server, "resnet50_v1.pb", standins.resnet50_like(tmp_path / "r.pb"))
    write_recipe(recipes, doc)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".old.tflite.1.tmp").write_text("a file the stale-file clean-up would delete")
    (outside / "keep.txt").write_text("keep")
    (tmp_path / "zoo" / "resnet50_v1").mkdir(parents=True)
    (tmp_path / "zoo" / "resnet50_v1" / "tflite-float32").symlink_to(outside)
    result = zoo(
        "--recipes",
        str(recipes),
        "run",
        "resnet50_v1",
        "--zoo-dir",
        str(tmp_path / "zoo"),
        "--cache-dir",
        str(tmp_path / "c"),
    )
    assert result.returncode == 1 and TRACEBACK not in result.stderr
    assert "tflite-float32 is a symbolic link" in result.stderr
    assert sorted(p.name for p in outside.iterdir()) == [".old.tflite.1.tmp", "keep.txt"]


# --- 3 to 6: downloads ------------------------------------------------------------------------------


def test_3_a_partial_is_never_completed_from_another_url(server: FileServer, tmp_path: Path) -> None:
    bad = server.add("a/toy.pb", PAYLOAD, mode="html-drop", failures=99)  # 200, an HTML page, dropped
    good = server.add("b/toy.pb", PAYLOAD)
    result = fetch(recipe_for([bad, good]), options(tmp_path))
    assert result.status == "downloaded", result.error
    assert result.origin == good
    assert all("Range" not in r for r in server.route("b/toy.pb").requests)  # started over at U2
    assert (tmp_path / "zoo" / "toy" / "source" / "toy.pb").read_bytes() == PAYLOAD
    assert not list((tmp_path / "cache" / "partial").iterdir())
    assert_no_leftovers(tmp_path)


def test_3_a_partial_still_resumes_from_its_own_url(server: FileServer, tmp_path: Path) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="drop-half")
    result = fetch(recipe_for([url]), options(tmp_path))
    assert result.status == "downloaded", result.error
    assert server.route("toy.pb").requests[-1]["Range"] == f"bytes={len(PAYLOAD) // 2}-"


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned", "unpinned"])
def test_4_content_encoding_is_not_undone(server: FileServer, tmp_path: Path, pinned: bool) -> None:
    tgz = standins.targz({"model.pb": PAYLOAD})  # a .tgz served with Content-Encoding: gzip
    url = server.add("model.tgz", tgz, mode="gzip-encoded")
    recipe = recipe_for(
        [url],
        checksum=sha256(tgz) if pinned else None,
        size=len(tgz) if pinned else None,
        file="model.tgz",
        members=[{"path": "model.pb", "checksum": sha256(PAYLOAD)}],
    )
    result = fetch(recipe, options(tmp_path))
    assert result.status == "downloaded", result.error
    assert result.checksum == sha256(tgz) and result.size == len(tgz)
    assert (tmp_path / "zoo" / "toy" / "source" / "model.pb").read_bytes() == PAYLOAD
    # and a binary that is not gzip data at all, labelled gzip: stored exactly as served
    url = server.add("toy.pb", PAYLOAD, mode="gzip-encoded")
    result = fetch(recipe_for([url], name="raw"), options(tmp_path))
    assert result.status == "downloaded", result.error


def test_5_retry_after_is_honoured_and_bounded(server: FileServer, tmp_path: Path) -> None:
    waits: list[float] = []
    downloader = HttpDownloader(FAST, sleep=waits.append)
    url = server.add("a.pb", PAYLOAD, mode="retry-after", retry_after="3")
    downloader.download(url, tmp_path / "a.part", algo="sha256", size=len(PAYLOAD))
    assert waits == [3.0]  # the server's wait, not the backoff of 0.01 s
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    url = server.add("b.pb", PAYLOAD, mode="retry-after", retry_after=date)
    downloader.download(url, tmp_path / "b.part", algo="sha256", size=len(PAYLOAD))
    assert 15 <= waits[-1] <= 21
    url = server.add("c.pb", PAYLOAD, mode="retry-after", retry_after="86400", failures=9)
    with pytest.raises(SourceFailed, match=r"retry after 86400 s: longer than zookit waits \(120 s\)"):
        downloader.download(url, tmp_path / "c.part", algo="sha256", size=len(PAYLOAD))
    downloader.close()


def test_5_a_deadline_cuts_off_a_trickling_server(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.add("toy.pb", PAYLOAD, mode="drip", failures=99)  # each byte in time, the whole never
    http = HttpOptions(connect_timeout=2, read_timeout=2, retries=5, backoff=0.01, deadline=1.5)
    result = fetch(recipe_for([url]), options(tmp_path, http=http))
    assert result.status == "failed" and "not complete within the deadline of 1.5 s" in result.error
    assert not (tmp_path / "zoo" / "toy" / "source" / "toy.pb").exists()
    recipes = served_recipe(server, tmp_path / "recipes", serve={"mode": "drip", "failures": 99}).parent
    argv = ["--recipes", str(recipes), "fetch", "toy", "--deadline", "1", "--zoo-dir", str(tmp_path / "z")]
    assert main([*argv, "--cache-dir", str(tmp_path / "c")]) == 1
    assert "deadline of 1 s" in capsys.readouterr().err


def test_6_staging_folders_of_a_killed_unpack_are_removed(server: FileServer, tmp_path: Path) -> None:
    tgz = standins.targz({"model.pb": PAYLOAD})
    url = server.add("model.tgz", tgz)
    recipe = recipe_for(
        [url], checksum=sha256(tgz), size=len(tgz), file="model.tgz", members=[{"path": "model.pb"}]
    )
    source = tmp_path / "zoo" / "toy" / "source"
    for attempt in ("downloaded", "present"):  # left before the first fetch, and before a later one
        stale = source / ".unpack-model.tgz-k1ll3d"
        stale.mkdir(parents=True, exist_ok=True)
        (stale / "model.pb").write_bytes(PAYLOAD[:1000])
        other = source / ".unpack-other.tgz-x"  # another file's staging: its own fetch cleans it
        other.mkdir(exist_ok=True)
        result = fetch(recipe, options(tmp_path))
        assert result.status == attempt, result.error
        assert not stale.exists() and other.exists()


# --- 7 to 9: recipes and archives ------------------------------------------------------------------

BAD_VALUES = {
    "float": "!!float abc",
    "int": "!!int 0xZZ",
    "timestamp": "!!timestamp 2024-13-45",
    "long-int": "1" * 4400,
}


@pytest.mark.parametrize("value", list(BAD_VALUES.values()), ids=list(BAD_VALUES))
def test_7_yaml_constructor_errors_are_recipe_errors(
    tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_recipe(tmp_path, minimal_recipe("good"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: bad\ndescription: {value}\n")
    with pytest.raises(RecipeError, match="not valid YAML: a value cannot be read"):
        load_recipe(bad)
    assert main(["--recipes", str(tmp_path), "list"]) == 2  # the broken file is reported...
    captured = capsys.readouterr()
    assert "good" in captured.out and "bad.yaml" in captured.err and TRACEBACK not in captured.err
    assert main(["--recipes", str(tmp_path), "show", "good"]) == 0  # ...the good one stays usable
    assert main(["validate", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_7_yaml_syntax_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninputs: [unclosed\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(bad)
    message = str(info.value)
    assert "<unicode string>" not in message and f"{bad}, line 3" in message


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("toy\0.pb", "control character"), ("x" * 250 + ".pb", "bytes long; at most 200"), ("a\nb", "control")],
    ids=["nul", "long", "newline"],
)
def test_8_file_names_fetch_cannot_use_are_rejected(
    tmp_path: Path, name: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = minimal_recipe("toy")
    doc["sources"][0]["file"] = name
    doc["model"]["path"] = name
    path = write_recipe(tmp_path, doc)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sources[0].file" in err and fragment in err


def tar_of(path: Path, *entries: tuple[str, bytes, str]) -> Path:
    """(name, data, link): a regular file when link is empty, a symlink for '->x', a hard link for '=>x'."""
    with tarfile.open(path, "w:gz") as tf:
        for name, data, link in entries:
            info = tarfile.TarInfo(name)
            if link.startswith("->"):
                info.type, info.linkname = tarfile.SYMTYPE, link[2:]
            elif link.startswith("=>"):
                info.type, info.linkname = tarfile.LNKTYPE, link[2:]
            else:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if not link else None)
    return path


def zip_of(path: Path, *names: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), b"data")
    return path


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda p: tar_of(p / "a.tgz", ("m.pb", b"1", ""), ("m.pb", b"2", "")), "appears twice"),
        (
            lambda p: tar_of(p / "a.tgz", ("h", b"", "=>missing")),
            "hard link to 'missing', which is not a file",
        ),
        (lambda p: tar_of(p / "a.tgz", ("d", b"", "->."), ("d/f", b"x", "")), "lies below a link"),
        (lambda p: zip_of(p / "a.zip", "x" * 300), "name part longer than 255 bytes"),
        (lambda p: zip_of(p / "a.zip", "."), "no usable name"),
        (lambda p: zip_of(p / "a.zip", ""), "no usable name"),
    ],
    ids=["duplicate", "hardlink-missing", "member-below-link", "long-zip-name", "zip-dot", "zip-empty"],
)
def test_9_malformed_archives_are_refused_by_model_and_file(
    tmp_path: Path, build: Any, fragment: str
) -> None:
    from zookit.fetch.archives import unpack

    archive = build(tmp_path)
    with pytest.raises(ArchiveError) as info:
        unpack(archive, tmp_path / "dest", [], label="toy/model.tgz")
    assert str(info.value).startswith("toy/model.tgz") and fragment in str(info.value), str(info.value)
    assert not (tmp_path / "dest").exists()  # refused before anything was written


def test_9_a_refused_archive_is_named_by_model_and_file_in_fetch(server: FileServer, tmp_path: Path) -> None:
    data = tar_of(tmp_path / "a.tgz", ("m.pb", b"1", ""), ("m.pb", b"2", "")).read_bytes()
    url = server.add("model.tgz", data)
    result = fetch(
        recipe_for([url], checksum=sha256(data), size=len(data), file="model.tgz"), options(tmp_path)
    )
    assert result.status == "failed" and result.error.startswith("toy/model.tgz"), result.error
    assert sha256(data).split(":")[1] not in result.error


def test_9_max_unpacked_takes_units_or_says_what_it_expects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        parse_size("1G") == 1024**3
        and parse_size("500MiB") == 500 * 1024**2
        and parse_size("2e9") == 2 * 10**9
    )
    monkeypatch.setenv("ZOO_MAX_UNPACKED", "1G")
    assert max_unpacked_from_env() == 1024**3
    monkeypatch.setenv("ZOO_MAX_UNPACKED", "lots")
    with pytest.raises(UsageError, match=r"ZOO_MAX_UNPACKED='lots': expected a size in bytes"):
        max_unpacked_from_env()
    write_recipe(tmp_path / "r", minimal_recipe("toy"))
    assert main(["--recipes", str(tmp_path / "r"), "fetch", "toy", "--zoo-dir", str(tmp_path / "z")]) == 2
    assert "ZOO_MAX_UNPACKED" in one_line_error(capsys.readouterr().err)


# --- 10 to 13: environment and command line --------------------------------------------------------


def test_10_zoo_dir_naming_a_file_or_an_impossible_place(tmp_path: Path) -> None:
    write_recipe(tmp_path / "r", minimal_recipe("toy"))
    (tmp_path / "afile").write_text("x")
    result = zoo("--recipes", str(tmp_path / "r"), "fetch", "toy", "--zoo-dir", str(tmp_path / "afile"))
    assert result.returncode == 2 and "exists and is not a folder" in one_line_error(result.stderr)
    result = zoo(
        "--recipes",
        str(tmp_path / "r"),
        "fetch",
        "toy",
        "--zoo-dir",
        "/proc/x",
        "--cache-dir",
        str(tmp_path / "c"),
    )
    assert result.returncode == 1 and "/proc/x" in result.stderr and TRACEBACK not in result.stderr
    result = zoo(
        "--recipes",
        str(tmp_path / "r"),
        "fetch",
        "toy",
        "--cache-dir",
        "/proc/x/cache",
        "--zoo-dir",
        str(tmp_path / "z"),
    )
    assert result.returncode == 1 and TRACEBACK not in result.stderr
    assert "error: toy/toy.pb: No such file or directory: /proc/x" in result.stderr  # the file's own line


def test_10_a_lock_file_that_is_a_link_is_refused(server: FileServer, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "zoo" / "toy").mkdir(parents=True)
    (tmp_path / "zoo" / "toy" / ".toy.pb.lock").symlink_to(victim)
    result = fetch(recipe_for([server.add("toy.pb", PAYLOAD)]), options(tmp_path))
    assert result.status == "failed" and ".toy.pb.lock is a symbolic link" in result.error
    assert victim.read_text() == "precious"


def _limit_file_size() -> None:  # the child's writes past 64 KB fail with EFBIG, as on a full disk
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_10_a_full_disk_while_downloading_and_while_copying_into_the_zoo(
    server: FileServer, tmp_path: Path
) -> None:
    recipes = served_recipe(server, tmp_path / "recipes").parent
    argv = ["--recipes", str(recipes), "fetch", "toy", "--cache-dir", str(tmp_path / "cache")]
    result = zoo(*argv, "--zoo-dir", str(tmp_path / "zoo"), preexec_fn=_limit_file_size)
    assert result.returncode == 1 and TRACEBACK not in result.stderr
    assert "File too large" in result.stderr and "toy/toy.pb" in result.stderr
    assert not (tmp_path / "zoo" / "toy" / "source" / "toy.pb").exists()
    assert not list((tmp_path / "cache").glob("files/*/*/*"))  # nothing verified-looking in the cache
    # now the file is in the cache; the zoo is on another file system, so it is copied, not linked
    assert zoo(*argv, "--zoo-dir", str(tmp_path / "zoo")).returncode == 0
    other_fs = Path("/dev/shm")
    if not other_fs.is_dir() or other_fs.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system (/dev/shm) to copy across")
    zoo_dir = Path(tempfile_in(other_fs))
    try:
        result = zoo(*argv, "--zoo-dir", str(zoo_dir), preexec_fn=_limit_file_size)
        assert result.returncode == 1 and "File too large" in result.stderr and TRACEBACK not in result.stderr
        source = zoo_dir / "toy" / "source"
        assert not (source / "toy.pb").exists() and not [p for p in source.iterdir() if p.suffix == ".tmp"]
    finally:
        subprocess.run(["rm", "-rf", str(zoo_dir)], check=True)


def tempfile_in(folder: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="zookit-test-", dir=folder)


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file modes do not stop root from writing")
def test_10_a_folder_that_cannot_be_written(server: FileServer, tmp_path: Path) -> None:
    recipes = served_recipe(server, tmp_path / "recipes").parent
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = zoo(
        "--recipes",
        str(recipes),
        "fetch",
        "toy",
        "--zoo-dir",
        str(locked / "zoo"),
        "--cache-dir",
        str(tmp_path / "c"),
    )
    assert result.returncode == 1 and "Permission denied" in result.stderr and TRACEBACK not in result.stderr


BLOCK_CONVERT = """
import sys
for name in ("tensorflow", "tf2onnx", "onnx", "onnxruntime", "ai_edge_litert", "keras"):
    sys.modules[name] = None  # as on a machine installed without the convert extra
from zookit.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_11_a_missing_extra_is_one_line_naming_it(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x08\x07")
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_CONVERT, "check", str(model)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "install the 'convert' extra" in one_line_error(result.stderr)
    readme = (REPO / "README.md").read_text()
    # the set-up line installs it: `all` holds `convert` (test_first_hour pins what `all` is)
    assert 'pip install -e ".[all]" && .venv/bin/zoo fetch --all' in readme


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["fetch", "--all", "--timeout", "0"], "--timeout: must be a positive number"),
        (["fetch", "--all", "--timeout", "-1"], "--timeout: must be a positive number"),
        (["fetch", "--all", "--timeout", "nan"], "--timeout: must be a positive number"),
        (["fetch", "--all", "--deadline", "soon"], "--deadline: expected a number of seconds"),
        (["fetch", "--all", "-j", "0"], "-j/--jobs: must be 1 or more"),
        (["run", "--all", "-j", "0"], "-j/--jobs: must be 1 or more"),
        (["run", "--all", "-j", "-2"], "-j/--jobs: must be 1 or more"),
        (["run", "--all", "-j", "two"], "-j/--jobs: expected a whole number"),
        (["run", "--all", "--images", "/no/such/folder"], "/no/such/folder is not an existing folder"),
        (["run", "--all", "--calibration-images", "/no/such"], "/no/such is not an existing folder"),
        (["convert", "--all", "--images", "/no/such"], "/no/such is not an existing folder"),
        (["tidl", "--all", "--calibration-images", "/no/such"], "/no/such is not an existing folder"),
        (["lst"], "invalid choice: 'lst'"),
    ],
)
def test_12_bad_arguments_are_refused_at_parse_time(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    line = one_line_error(capsys.readouterr().err)
    assert fragment in line and "--help" in line


def test_13_global_options_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_recipe(tmp_path, minimal_recipe("elsewhere"))
    assert main(["list", "--recipes", str(tmp_path), "-v"]) == 0
    assert capsys.readouterr().out.startswith("elsewhere")
    assert main(["--recipes", str(REPO / "recipes"), "show", "elsewhere", "--recipes", str(tmp_path)]) == 0
    assert main(["-v", "validate", "--recipes", str(tmp_path)]) == 0


# --- 14 to 17: zoo run ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_14_15_a_crashing_stage_fails_its_model_only_and_the_whole_error_is_shown(
    server: FileServer, tmp_path: Path, jobs: str
) -> None:
    from test_run import two_models, zoo_process

    two_models(server, tmp_path)
    # a file where the target folder goes: the conversion stage breaks with an operating-system error,
    # not one of zookit's own (the kind that used to abort the run, or show as "internal" under -j 2)
    blocker = tmp_path / "zoo" / "resnet50_v1" / "tflite-float32"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("in the way")
    proc = zoo_process(tmp_path, "run", "--all", "-j", jobs)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    assert TRACEBACK not in err and TRACEBACK not in out
    assert "1 model(s) ok, 1 failed" in out
    assert re.search(r"FAILED resnet50_v1 \(\d stage\(s\) run, 1 failed\)", err), err
    # the table cuts the error to a line; below it the whole first error, path included
    (line,) = [line for line in err.splitlines() if line.startswith("error: resnet50_v1:")]
    assert line.startswith("error: resnet50_v1: convert:tflite-float32: ") and str(blocker) in line, line
    assert (tmp_path / "zoo" / "resnet34_ssd1200" / "tidl" / "package.json").is_file()


@pytest.mark.slow
def test_17_a_run_without_images_keeps_what_was_made_with_them(server: FileServer, tmp_path: Path) -> None:
    from test_convert import make_images
    from test_run import statuses, two_models, zoo_run

    recipes = two_models(server, tmp_path)
    images = make_images(tmp_path / "images")
    code, _, err = zoo_run(tmp_path, "--calibration-images", str(images))
    assert code == 0, err
    package_file = tmp_path / "zoo" / "resnet34_ssd1200" / "tidl" / "package.json"
    assert "calibration_list.txt" in json.loads(package_file.read_text())["files"]
    code, again, err = zoo_run(tmp_path)  # no images this time
    assert code == 0, err
    assert set(statuses(again).values()) == {"skipped"}, statuses(again)
    assert "calibration_list.txt" in json.loads(package_file.read_text())["files"]
    # an edit that no conversion reads (the description) converts nothing again
    recipe_file = recipes / "resnet50_v1.yaml"
    recipe_file.write_text(recipe_file.read_text().replace("description: ", "description: Edited. ", 1))
    code, edited, err = zoo_run(tmp_path)
    assert code == 0, err
    assert statuses(edited)[("resnet50_v1", "convert:tflite-float32")] == "skipped"
    # other images are a change: converted (and calibrated) again
    first = sorted(images.iterdir())[0]
    (images / f"extra{first.suffix}").write_bytes(first.read_bytes())
    code, changed, err = zoo_run(tmp_path, "--calibration-images", str(images))
    assert code == 0, err
    assert statuses(changed)[("resnet34_ssd1200", "tidl")] == "done"
