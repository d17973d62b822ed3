"""zoo diagnose --write: what it may edit, checked before any work (issue 28: point 4 and the hostile
run's "Recipe replaced by diagnose --write" cases), and --images checked like the other commands'."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from zookit.quantize.recipe_edit import fix_fields


def _recipes(tmp_path: Path) -> Path:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    shutil.copy(REPO / "src/zookit/recipes/mlperf_tiny/ic_resnet8.yaml", recipes)
    return recipes


def _diagnose_write(recipes: Path, tmp_path: Path, *extra: str) -> int:
    from zookit.__main__ import main

    return main(
        [
            "--recipes",
            str(recipes),
            "diagnose",
            "ic_resnet8",
            "--target",
            "tflite-int8",
            "--goal",
            "top1=1.0",
            "--write",
            "--zoo-dir",
            str(tmp_path / "no-zoo"),  # nothing converted: only a check before the search can answer
            *extra,
        ]
    )


def test_recipe_replaced_by_diagnose_write_read_only_is_refused_before_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile case: a 0444 recipe was rewritten (and became 0644). Now: one line, exit 2, file untouched."""
    path = _recipes(tmp_path) / "ic_resnet8.yaml"
    text = path.read_text()
    path.chmod(0o444)
    assert _diagnose_write(path.parent, tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "read-only" in err and str(path) in err
    assert path.read_text() == text and path.stat().st_mode & 0o777 == 0o444


def test_recipe_replaced_by_diagnose_write_symlink_edits_the_linked_file_in_place(tmp_path: Path) -> None:
    """Hostile case: a recipe that is a symbolic link became a regular file (the link lost, the real
    file not updated). Now the file it points to is edited (through a temporary file in its own folder)
    and keeps its mode; the link stays a link."""
    from zookit.quantize.recipe_edit import check_writable, write_fix

    real_dir = tmp_path / "elsewhere"
    real_dir.mkdir()
    real = real_dir / "ic_resnet8.yaml"
    shutil.copy(REPO / "src/zookit/recipes/mlperf_tiny/ic_resnet8.yaml", real)
    real.chmod(0o640)
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    link = recipes / "ic_resnet8.yaml"
    link.symlink_to(real)
    check_writable(link, "tflite-int8")
    assert write_fix(link, "tflite-int8", fix_fields(["n1"])) == real
    assert link.is_symlink() and link.resolve() == real
    assert real.stat().st_mode & 0o777 == 0o640
    target = yaml.safe_load(real.read_text())["targets"][1]
    assert target["keep_float"] == {"nodes": ["n1"]} and target["calibration_pictures"] == "split"
    assert sorted(p.name for p in real_dir.iterdir()) == ["ic_resnet8.yaml"]  # no temporary file left


def test_diagnose_write_refuses_a_target_it_cannot_edit_before_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 28 point 4: it gave up after the whole search (56 s); now it answers before any work."""
    path = _recipes(tmp_path) / "ic_resnet8.yaml"
    text = path.read_text()
    start = text.index("  - name: tflite-int8")
    path.write_text(
        text[:start]
        + "  - {name: tflite-int8,\n     format: tflite, quantization: int8}\n"
        + text[text.index("  # The float model as ONNX") :]
    )
    assert _diagnose_write(path.parent, tmp_path) == 2
    assert "by hand" in capsys.readouterr().err
    # a one-line flow-style target passes the check and goes on to the search (here: nothing converted)
    path.write_text(
        text[:start]
        + "  - {name: tflite-int8, format: tflite, quantization: int8}\n"
        + text[text.index("  # The float model as ONNX") :]
    )
    assert _diagnose_write(path.parent, tmp_path) == 2
    assert "is not converted" in capsys.readouterr().err


def test_diagnose_images_must_be_an_existing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        _diagnose_write(_recipes(tmp_path), tmp_path, "--images", str(tmp_path / "missing"))
    assert exit_.value.code == 2 and "not an existing folder" in capsys.readouterr().err
