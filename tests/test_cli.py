"""The zoo command: list, show, validate, schema, and what it must not import."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, minimal_recipe, write_recipe
from zookit.__main__ import main

HEAVY = ("tensorflow", "tf2onnx", "onnxruntime", "onnx")


def test_list_shows_the_four_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--recipes", str(REPO / "recipes"), "list"]) == 0
    out = capsys.readouterr().out
    for name in ("mobilenet_v1", "resnet50_v1", "ssd_mobilenet_v1", "resnet34_ssd1200"):
        assert name in out


def test_list_json_and_broken_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_recipe(tmp_path, minimal_recipe("good"))
    write_recipe(tmp_path, minimal_recipe("bad", targets=[]))
    assert main(["--recipes", str(tmp_path), "list", "--json"]) == 2
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert [r["name"] for r in data["recipes"]] == ["good"] and "bad" in data["errors"]
    assert "targets" in captured.err


def test_show_prints_facts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--recipes", str(REPO / "recipes"), "show", "resnet50_v1"]) == 0
    out = capsys.readouterr().out
    assert "input_tensor" in out and "resnet_model/dense/BiasAdd" in out and "md5:7b94a2da" in out
    assert main(["--recipes", str(REPO / "recipes"), "show", "resnet50_v1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "resnet50_v1"


def test_show_unknown_model_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--recipes", str(REPO / "recipes"), "show", "resnet50"]) == 2
    assert "did you mean 'resnet50_v1'" in capsys.readouterr().err


def test_validate_paths_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_recipe(tmp_path / "r", minimal_recipe("good"))
    bad = write_recipe(tmp_path / "r", minimal_recipe("bad", ouputs=[]))
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(bad)]) == 2
    assert "did you mean 'outputs'" in capsys.readouterr().err
    assert main(["validate", "--json", str(tmp_path / "r")]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["checked"] == 2 and report["invalid"] == 1
    assert main(["--recipes", str(REPO / "recipes"), "validate"]) == 0


def test_recipes_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_recipe(tmp_path, minimal_recipe("only_this"))
    monkeypatch.setenv("ZOO_RECIPES", str(tmp_path))
    assert main(["list"]) == 0
    assert "only_this" in capsys.readouterr().out


def test_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "zookit recipe" and "sources" in schema["properties"]


def test_fetch_needs_names_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--recipes", str(REPO / "recipes"), "fetch"]) == 2
    assert "--all" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "ssd_mobilenet_v1"],
        ["validate"],
        ["fetch", "mobilenet_v1", "--offline", "--zoo-dir", "{tmp}/zoo", "--cache-dir", "{tmp}/c"],
    ],
)
def test_light_commands_do_not_import_frameworks(argv: list[str], tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code = (
        f"import sys; from zookit.__main__ import main; main({argv!r}); "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"ZOO_RECIPES": str(REPO / "recipes"), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out


def test_console_script_runs() -> None:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "zoo"), "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("zookit ")


def test_built_wheel_carries_the_recipes(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("zookit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for recipe in (REPO / "recipes").glob("*.yaml"):
        assert f"zookit/recipes/{recipe.name}" in names
