"""The recipe caches and recipe reading against hostile files (issue #24 point 6, issue #30 point 4).

The commands that load the whole folder (`zoo run --all`, the API's ``Zoo.recipes``) keep the parsed
YAML of a folder's recipes in ``$ZOO_CACHE_DIR/recipes/*.json``; `zoo list` and `zoo validate` keep each
file's verdict in ``$ZOO_CACHE_DIR/recipe-verdicts/*.json`` (tests/test_recipe_verdicts.py). Nothing in a recipe file or in
those caches may break a listing, hang it, or make it show anything but the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import minimal_recipe, write_recipe

ZOO = [sys.executable, "-m", "zookit", "--recipes"]
# the API's whole folder (as `zoo run --all` loads it), printed as `zoo list --json` prints it
WHOLE_FOLDER = (
    "import json, sys; from zookit import Zoo; zoo = Zoo.open(sys.argv[1]); "
    "print(json.dumps({'recipes': [{'name': n, 'description': r.description} for n, r in zoo.recipes.items()], "
    "'errors': {n: e.problems for n, e in zoo.errors.items()}}))"
)


# the cache folder -> the command that writes and reads it
WRITER = {"recipes": ["-c", WHOLE_FOLDER], "recipe-verdicts": ["list", "--json"]}


def listing(
    folder: Path, cache: Path, timeout: float = 60, kind: str = "recipe-verdicts"
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ZOO_CACHE_DIR=str(cache))
    argv = (
        [sys.executable, *WRITER[kind], str(folder)]
        if kind == "recipes"
        else [*ZOO, str(folder), *WRITER[kind]]
    )
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)


def settled(path: Path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old))


def good_folder(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "recipes"
    settled(write_recipe(folder, minimal_recipe("toy", description="first words")))
    return folder, tmp_path / "cache"


def described(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    data = json.loads(done.stdout)
    return {r["name"]: r["description"] for r in data["recipes"]}


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-01",  # a date
        "2024-01-01 10:00:00",  # a timestamp
        "!!binary aGVsbG8=",  # bytes
        "!!set {a, b}",  # a set
    ],
)
def test_recipes_json_cannot_hold_never_break_the_listing(tmp_path: Path, value: str) -> None:
    folder, cache = good_folder(tmp_path)
    odd = folder / "odd.yaml"
    odd.write_text((folder / "toy.yaml").read_text().replace("name: toy", "name: odd") + f"notes: {value}\n")
    settled(odd)
    for _ in range(2):  # the second listing reads the cache the first one wrote
        done = listing(folder, cache)
        assert described(done)["toy"] == "first words"
        assert "odd.yaml" in done.stdout or "odd.yaml" in done.stderr  # reported, not raised


def test_a_self_referencing_and_a_billion_laughs_recipe_are_refused_quickly(tmp_path: Path) -> None:
    folder, cache = good_folder(tmp_path)
    (folder / "loop.yaml").write_text("&a name: [*a]\n")
    laughs = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    (folder / "laughs.yaml").write_text("\n".join(laughs) + "\n")
    for path in folder.iterdir():
        settled(path)
    started = time.monotonic()
    done = listing(folder, cache, timeout=60)
    assert time.monotonic() - started < 30
    assert described(done)["toy"] == "first words"
    report = json.loads(done.stdout)["errors"]
    assert "expands to more than" in " ".join(report["laughs"])
    assert "loop" in report


def test_an_edit_that_keeps_size_and_modification_time_is_seen(tmp_path: Path) -> None:
    folder, cache = good_folder(tmp_path)
    recipe = folder / "toy.yaml"
    assert described(listing(folder, cache))["toy"] == "first words"
    st = recipe.stat()
    recipe.write_text(recipe.read_text().replace("first words", "other words"))  # same size
    os.utime(recipe, ns=(st.st_atime_ns, st.st_mtime_ns))  # as cp -p and rsync -a leave it
    assert described(listing(folder, cache))["toy"] == "other words"


def _cache_file(folder: Path, cache: Path, kind: str = "recipes") -> Path:
    assert described(listing(folder, cache, kind=kind))["toy"] == "first words"
    [path] = (cache / kind).glob("*.json")
    return path


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        '{"version": 2, "files": []}',
        '{"version": 2, "files": {"toy.yaml": "text"}}',
        '{"version": 2, "files": {"toy.yaml": [1, 2, 3]}}',
        "[" * 100_000 + "]" * 100_000,  # nested deeper than the JSON reader recurses
        "not json at all",
        '{"format": 1, "code": "0", "files": {"toy.yaml": [null, "0", {}, null, null]}}',
    ],
)
@pytest.mark.parametrize("kind", WRITER)
def test_a_cache_file_of_the_wrong_shape_is_ignored(tmp_path: Path, content: str, kind: str) -> None:
    folder, cache = good_folder(tmp_path)
    path = _cache_file(folder, cache, kind)
    path.write_text(content)
    assert described(listing(folder, cache, kind=kind))["toy"] == "first words"


def test_a_planted_entry_is_not_served(tmp_path: Path) -> None:
    folder, cache = good_folder(tmp_path)
    path = _cache_file(folder, cache)
    data = json.loads(path.read_text())
    entry = data["files"]["toy.yaml"]
    entry[1]["description"] = "planted"
    entry[1]["sources"][0]["urls"] = ["http://127.0.0.1:9/planted.bin"]
    entry[0] = "0" * 64  # not the digest of the file's bytes
    path.write_text(json.dumps(data))
    assert described(listing(folder, cache, kind="recipes"))["toy"] == "first words"
    entry[0] = json.loads(path.read_text())["files"]["toy.yaml"][0]  # another user's planted file
    path.write_text(json.dumps(data))
    os.chmod(path, 0o666)  # writable by others: not ours to trust
    assert described(listing(folder, cache, kind="recipes"))["toy"] == "first words"


@pytest.mark.parametrize("kind", WRITER)
def test_a_fifo_or_a_link_in_place_of_the_cache_neither_hangs_nor_is_read(tmp_path: Path, kind: str) -> None:
    folder, cache = good_folder(tmp_path)
    path = _cache_file(folder, cache, kind)
    path.unlink()
    os.mkfifo(path)
    assert described(listing(folder, cache, timeout=60, kind=kind))["toy"] == "first words"
    path.unlink()
    path.symlink_to("/dev/zero")
    assert described(listing(folder, cache, timeout=60, kind=kind))["toy"] == "first words"
