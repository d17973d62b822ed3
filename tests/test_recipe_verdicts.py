"""The validated-recipe cache (zookit.recipe.cache, issue #30 point 4): `zoo list` and `zoo validate` on a
big zoo read each file's verdict from the cache, and no edited, added, removed, renamed or planted recipe
is ever served stale. Each check compares the cached survey with every file validated afresh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import minimal_recipe, write_recipe
from zookit.recipe import RecipeBook, recipe_files
from zookit.recipe import cache as recipe_cache
from zookit.recipe.cache import VerdictCache, judge, survey

COUNT = 120


def fresh(folder: Path) -> list[tuple[str, object, object]]:
    """Every file of the folder validated without any cache: (file, row, error lines)."""
    out = []
    for path in recipe_files(folder):
        verdict = judge(path)
        out.append((path.name, verdict.row, None if verdict.error is None else str(verdict.error)))
    return out


def cached(folder: Path) -> list[tuple[str, object, object]]:
    return [
        (v.path.name, v.row, None if v.error is None else str(v.error))
        for v in survey(folder, recipe_files(folder))
    ]


@pytest.fixture
def zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """COUNT valid recipes and two broken ones, listed once (the cache filled); a file's times are
    trusted at once (RACY_SECONDS 0: the fast path is what is tested), and every file is old enough
    for a later write to change its change time."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(recipe_cache, "RACY_SECONDS", 0.0)
    folder = tmp_path / "recipes"
    for i in range(COUNT):
        write_recipe(folder, minimal_recipe(f"toy_{i:03d}", description=f"toy number {i:03d}"))
    (folder / "broken.yaml").write_text("name: broken\ntask: [classification\n")
    write_recipe(folder, minimal_recipe("misnamed")).write_text(
        yaml.safe_dump(minimal_recipe("other_name"), sort_keys=False)
    )
    time.sleep(0.05)  # past a coarse clock tick: an edit now gets another change time
    assert cached(folder) == fresh(folder)
    assert len(VerdictCache(folder).entries) == COUNT + 2
    return folder


def test_a_warm_survey_reads_no_recipe_and_says_what_a_fresh_one_says(
    zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = fresh(zoo)
    monkeypatch.setattr(recipe_cache, "judge", lambda *a: pytest.fail(f"validated again: {a}"))
    assert cached(zoo) == expected  # errors included, line for line
    rows, errors = RecipeBook(zoo).survey()
    assert len(rows) == COUNT and set(errors) == {"broken", "misnamed"}
    assert rows["toy_007"] == {
        "name": "toy_007",
        "task": "classification",
        "format": "tf-frozen-graph",
        "targets": [t["name"] for t in minimal_recipe()["targets"]],
        "description": "toy number 007",
    }


def test_edits_additions_removals_and_renames_are_seen(zoo: Path) -> None:
    edited = zoo / "toy_001.yaml"
    st = edited.stat()
    edited.write_text(edited.read_text().replace("toy number 001", "toy NUMBER 001"))  # the same size
    os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns))  # and modification time, as cp -p leaves it
    (zoo / "toy_002.yaml").write_text((zoo / "toy_002.yaml").read_text() + "unknown_field: 1\n")
    (zoo / "toy_003.yaml").unlink()
    (zoo / "toy_004.yaml").rename(zoo / "toy_904.yaml")  # now misnamed: its name is toy_004
    write_recipe(zoo, minimal_recipe("added", description="new here"))
    (zoo / "broken.yaml").write_text(yaml.safe_dump(minimal_recipe("broken"), sort_keys=False))  # mended
    now = cached(zoo)
    assert now == fresh(zoo)
    by_name = {name: (row, error) for name, row, error in now}
    assert by_name["toy_001.yaml"][0]["description"] == "toy NUMBER 001"  # type: ignore[index]
    assert "unknown field 'unknown_field'" in str(by_name["toy_002.yaml"][1])
    assert "toy_003.yaml" not in by_name and "differs from the file name" in str(by_name["toy_904.yaml"][1])
    assert by_name["added.yaml"][0] is not None and by_name["broken.yaml"][0] is not None
    assert "toy_003.yaml" not in VerdictCache(zoo).entries  # a removed file's verdict is dropped


def test_a_file_swapped_in_with_the_same_size_and_times_or_a_link_is_seen(zoo: Path, tmp_path: Path) -> None:
    target = zoo / "toy_010.yaml"
    st = target.stat()
    swapped = tmp_path / "swapped.yaml"
    swapped.write_text(target.read_text().replace("toy number 010", "planted!!! 010"))
    assert swapped.stat().st_size == st.st_size
    os.utime(swapped, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(swapped, target)  # renamed into place: another inode, the same size and mtime
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(zoo, elsewhere, symlinks=True)
    (elsewhere / "toy_011.yaml").write_text(
        (zoo / "toy_011.yaml").read_text().replace("toy number 011", "linked in")
    )
    (zoo / "toy_011.yaml").unlink()
    (zoo / "toy_011.yaml").symlink_to(elsewhere / "toy_011.yaml")
    (zoo / "toy_012.yaml").unlink()
    (zoo / "toy_012.yaml").symlink_to(elsewhere / "broken.yaml")  # a link to a broken file
    now = cached(zoo)
    assert now == fresh(zoo)
    by_name = {name: (row, error) for name, row, error in now}
    assert by_name["toy_010.yaml"][0]["description"] == "planted!!! 010"  # type: ignore[index]
    assert by_name["toy_011.yaml"][0]["description"] == "linked in"  # type: ignore[index]
    assert "not valid YAML" in str(by_name["toy_012.yaml"][1])
    (elsewhere / "toy_011.yaml").write_text(  # the link's target edited: seen through the link
        (elsewhere / "toy_011.yaml").read_text().replace("linked in", "linked on")
    )
    assert cached(zoo) == fresh(zoo)


def test_a_file_changed_just_before_its_verdict_is_stored_is_hashed_next_time(
    zoo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recipe_cache, "RACY_SECONDS", 2.0)
    write_recipe(zoo, minimal_recipe("just_written"))
    assert cached(zoo) == fresh(zoo)
    entries = VerdictCache(zoo).entries
    assert entries["just_written.yaml"][0] is None  # no identity: its times cannot vouch for it yet
    assert entries["toy_000.yaml"][0] is not None


@pytest.mark.parametrize(
    "damage",
    ["format", "code", "digest-and-row", "row-shape", "error-shape", "not-json", "group-writable"],
)
def test_a_foreign_or_corrupt_cache_file_is_not_trusted(zoo: Path, damage: str) -> None:
    path = VerdictCache(zoo).path
    data = json.loads(path.read_text())
    entry = data["files"]["toy_005.yaml"]
    if damage == "format":
        data["format"] += 1
        data["files"]["toy_005.yaml"][2]["description"] = "planted"
    elif damage == "code":
        data["code"] = "0" * 64  # another zookit wrote it
        data["files"]["toy_005.yaml"][2]["description"] = "planted"
    elif damage == "digest-and-row":
        entry[0], entry[1], entry[2]["description"] = None, "0" * 64, "planted"
    elif damage == "row-shape":
        entry[2]["targets"] = "onnx"
        entry[2]["description"] = "planted"
    elif damage == "error-shape":
        data["files"]["broken.yaml"][4] = []  # an error without lines
    text = "{not json" if damage == "not-json" else json.dumps(data)
    path.write_text(text)
    if damage == "group-writable":
        os.chmod(path, 0o664)
        data["files"]["toy_005.yaml"][2]["description"] = "planted"
        path.write_text(json.dumps(data))
    assert cached(zoo) == fresh(zoo)
    if damage != "group-writable":
        assert json.loads(path.read_text())["files"]["toy_005.yaml"][2]["description"] == "toy number 005"


def zoo_cli(folder: Path, cache: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ZOO_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, "-m", "zookit", "--recipes", str(folder), *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def test_zoo_list_and_validate_report_errors_the_same_from_the_cache(tmp_path: Path) -> None:
    """The same stdout, stderr and exit code from a cold cache and a warm one; run from another working
    folder, the error lines name the files from there (an error stored under another name is not reused)."""
    folder = tmp_path / "zoo" / "recipes"
    for i in range(3):
        write_recipe(folder, minimal_recipe(f"toy_{i}"))
    (folder / "broken.yaml").write_text("name: broken\ntask: [classification\n")
    (folder / "extra.yaml").write_text(
        yaml.safe_dump({**minimal_recipe("extra"), "descripton": "typo"}, sort_keys=False)
    )
    commands = (["list", "--json"], ["validate"], ["validate", str(folder / "broken.yaml")])
    zoo_cli(folder, tmp_path / "shared", tmp_path, "list")  # the cache every warm run below reads
    for n, (cwd, shown) in enumerate(((tmp_path, "zoo/recipes"), (tmp_path / "zoo", "recipes"))):
        for k, argv in enumerate(commands):
            cold = zoo_cli(folder, tmp_path / f"cold-{n}-{k}", cwd, *argv)
            assert cold.returncode == 2 and "Traceback" not in cold.stderr, cold.stderr
            assert f"{shown}/broken.yaml" in cold.stderr
            if argv[-1] != str(folder / "broken.yaml"):
                assert f"{shown}/extra.yaml: unknown field 'descripton'" in cold.stderr
            warm = zoo_cli(folder, tmp_path / "shared", cwd, *argv)
            assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)


def test_a_verdict_that_read_a_vela_config_file_follows_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ethos_u section's system configuration is checked against the Vela config file it names: the
    verdict depends on that file too, so an edit or removal of it is seen on the next listing."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(recipe_cache, "RACY_SECONDS", 0.0)
    ini = tmp_path / "board.ini"
    ini.write_text("[System_Config.Board]\ncore_clock=1e8\n\n[Memory_Mode.Sram_Only]\nconst_mem_area=Axi0\n")
    folder = tmp_path / "recipes"
    data = minimal_recipe("npu")
    data["targets"].append({"name": "tflite-int8", "format": "tflite", "quantization": "int8"})
    data["ethos_u"] = {
        "targets": ["tflite-int8"],
        "config_file": str(ini),
        "configs": [{"accelerator": "ethos-u55-128", "system_config": "Board", "memory_mode": "Sram_Only"}],
    }
    write_recipe(folder, data)
    time.sleep(0.05)
    assert cached(folder) == fresh(folder) and fresh(folder)[0][2] is None  # valid against board.ini
    assert cached(folder)[0][2] is None  # warm

    time.sleep(0.05)
    ini.write_text("[System_Config.Other]\ncore_clock=1e8\n\n[Memory_Mode.Sram_Only]\nconst_mem_area=Axi0\n")
    now = cached(folder)
    assert now == fresh(folder)
    assert "'Board' is not defined in" in str(now[0][2])  # the edited file, not the stored verdict

    ini.unlink()
    assert cached(folder) == fresh(folder)
    assert "is not a readable file" in str(cached(folder)[0][2])
