"""Names that would collide with zookit's own files are recipe errors (issue #24 point 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import minimal_recipe
from zookit.errors import RecipeError
from zookit.recipe import parse_recipe


def refused(doc: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(RecipeError) as caught:
        parse_recipe(doc, "r.yaml")
    text = str(caught.value)
    assert field in text and words in text, text


@pytest.mark.parametrize("name", ["source", "tidl", "tflm"])
def test_a_target_cannot_take_the_name_of_zookits_own_folders(name: str) -> None:
    doc = minimal_recipe()
    doc["targets"][0]["name"] = name
    refused(doc, "targets[0].name", "zookit's own folder")


@pytest.mark.parametrize("name", ["toy\n", "toy\r", "Toy", "x" * 101])
def test_names_are_matched_whole_and_bounded(name: str) -> None:
    doc = minimal_recipe()
    doc["name"] = name
    with pytest.raises(RecipeError, match="name"):
        parse_recipe(doc, "r.yaml")
    doc = minimal_recipe()
    doc["targets"][0]["name"] = name
    with pytest.raises(RecipeError, match=r"targets\[0\]\.name"):
        parse_recipe(doc, "r.yaml")


def test_a_model_cannot_take_the_zoo_lock_files_name() -> None:
    doc = minimal_recipe()
    doc["name"] = "zoo-lock.json"
    refused(doc, "name", "checksum lock file")


@pytest.mark.parametrize(
    ("save_as", "words"),
    [
        (".", "source folder itself"),
        ("", "source folder itself"),
        ("x/..", "source folder itself"),
        (".fetched-other.pb.json", "hidden names"),
        ("sub/.toy.pb.lock", "hidden names"),
        ("../escape.pb", "stays inside"),
        ("a" * 201, "at most 200"),
    ],
)
def test_save_as_names_a_plain_file_in_the_source_folder(save_as: str, words: str) -> None:
    doc = minimal_recipe()
    doc["sources"][0]["save_as"] = save_as
    refused(doc, "save_as", words)


def test_good_names_still_pass() -> None:
    doc = minimal_recipe()
    doc["sources"][0]["save_as"] = "models/toy.pb"
    doc["targets"][0]["name"] = "tflite-int8"
    assert parse_recipe(doc, "r.yaml").sources[0].dest == "models/toy.pb"


def test_clean_waits_for_a_run_on_the_model_and_names_what_it_removed(tmp_path: Path) -> None:
    """`zoo clean` takes the model's lock as a run does (#24 point 10), and lists each item it removes."""
    import subprocess
    import sys
    import time

    from filelock import FileLock

    from conftest import write_recipe

    write_recipe(tmp_path / "recipes", minimal_recipe("toy"))
    model = tmp_path / "zoo" / "toy"
    (model / "tflite-float32").mkdir(parents=True)
    (model / "tflite-float32" / "toy.tflite").write_bytes(b"x")
    (model / "source").mkdir()
    lock = FileLock(str(model / ".lock"))
    lock.acquire()
    cmd = [sys.executable, "-m", "zookit", "--recipes", str(tmp_path / "recipes"), "clean", "toy"]
    proc = subprocess.Popen(
        [*cmd, "--zoo-dir", str(tmp_path / "zoo")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(3)
        assert proc.poll() is None and (model / "tflite-float32").is_dir()  # still waiting
    finally:
        lock.release()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "waiting for the run working on toy" in err
    assert f"removed {model / 'tflite-float32'}" in out.splitlines() and "removed 1 item(s)" in out
    assert not (model / "tflite-float32").exists() and (model / "source").is_dir()
