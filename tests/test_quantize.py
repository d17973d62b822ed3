"""zoo diagnose: the goal, the recipe fields and their writers (TFLite keep_float, TIDL 16-bit lists under
TI's names), the comment-preserving recipe edit, and on the genuine MLPerf Tiny files the search itself
and a recipe carrying its answer converting to the figures it reported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO, SHARED_MODELS
from zookit.errors import UsageError
from zookit.quantize.recipe_edit import edit_text
from zookit.quantize.search import Goal, parse_goal
from zookit.recipe import Target

# TI's option names, copied from TI's files (the oracle): edgeai-tidl-tools 11_00_06_00
# examples/osrt_python/README.md:176-177, and the import tool's parameter table (gParams).
TI_RUNTIME = ("advanced_options:output_feature_16bit_names_list", "advanced_options:params_16bit_names_list")
TI_LEGACY = ("outputFeature16bitNamesList", "params16bitNamesList")


def test_goal_is_parsed_or_refused_in_one_line() -> None:
    assert parse_goal("top1=0.99") == Goal("top1", 0.99)
    assert parse_goal("max_rel=0.1").met(None, 0.05)
    for bad in ("top1=1.5", "top1=nan", "acc=1", "top1", "max_rel=-1", "max_rel=inf"):
        with pytest.raises(UsageError, match="--goal"):
            parse_goal(bad)


def test_keep_float_only_on_quantized_tflite_targets() -> None:
    Target(name="t", format="tflite", quantization="int8", keep_float={"nodes": ["a"]})
    with pytest.raises(ValueError, match="keep_float"):
        Target(name="t", format="tflite", keep_float={"ops": ["CONV_2D"]})
    with pytest.raises(ValueError, match="keep_float"):
        Target(name="t", format="onnx", keep_float={"nodes": ["a"]})


RECIPE_TEXT = """\
targets:
  - name: tflite-float32   # the float one
    format: tflite
  - name: tflite-int8       # full integer
    format: tflite
    quantization: int8
    # measured on the genuine files
    tolerance: {max_rel: 0.35, top1_agreement: 0.8}
  # the ONNX target
  - name: onnx
    format: onnx
"""


def test_recipe_edit_keeps_comments_and_replaces_its_own_field() -> None:
    once = edit_text(RECIPE_TEXT, "tflite-int8", ["a;b", 'q"uote'])
    assert all(line in once for line in RECIPE_TEXT.splitlines())  # every line (and comment) kept
    doc = yaml.safe_load(once)
    assert doc["targets"][1]["keep_float"] == {"nodes": ["a;b", 'q"uote']}
    assert "keep_float" not in doc["targets"][0] and "keep_float" not in doc["targets"][2]
    twice = edit_text(once, "tflite-int8", ["c"])
    assert yaml.safe_load(twice)["targets"][1]["keep_float"] == {"nodes": ["c"]}
    assert twice.count("keep_float") == 1
    with pytest.raises(UsageError, match="by hand"):
        edit_text("targets:\n  - {name: t, format: tflite}\n", "t", ["x"])


def test_tidl_16bit_lists_use_tis_names_and_must_be_tensors_of_the_packaged_model(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from zookit.deploy.tidl import options
    from zookit.recipe import load_recipe

    assert tuple(options.RUNTIME_16BIT.values()) == TI_RUNTIME
    assert tuple(options.LEGACY_16BIT.values()) == TI_LEGACY
    assert options.thin_calibration(8) and "at least 10" in options.thin_calibration(8)  # type: ignore[operator]
    assert options.thin_calibration(10) is None
    doc = yaml.safe_load((REPO / "src/zookit/recipes/mobilenet_v1.yaml").read_text())
    doc["tidl"]["output_feature_16bit_names"] = ["conv_out"]
    doc["tidl"]["params_16bit_names"] = ["relu_out"]
    path = tmp_path / "mobilenet_v1.yaml"
    path.write_text(yaml.safe_dump(doc))
    recipe = load_recipe(path)
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["conv_out"]), helper.make_node("Relu", ["conv_out"], ["relu_out"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("relu_out", TensorProto.FLOAT, [1, 4])],
    )
    model = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(model))
    options.check_16bit_names(recipe, model)  # both names are tensors of the model
    doc["tidl"]["params_16bit_names"] = ["relu_ot"]
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(UsageError, match=r"relu_ot.*closest: relu_out"):
        options.check_16bit_names(load_recipe(path), model)


# --- the genuine MLPerf Tiny files ----------------------------------------------------------------

TINY = SHARED_MODELS / "mlperf_tiny"


def zoo(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zookit", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1200,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not TINY.is_dir():
        pytest.skip(f"the genuine MLPerf Tiny files are not at {TINY}")
    root = tmp_path_factory.mktemp("tiny")
    recipes = root / "recipes"
    shutil.copytree(REPO / "src/zookit/recipes/mlperf_tiny", recipes)
    for f in recipes.glob("*.yaml"):
        if f.stem != "ic_resnet8":
            f.unlink()
    doc = yaml.safe_load((recipes / "ic_resnet8.yaml").read_text())
    assert doc["targets"][1]["name"] == "tflite-int8"
    done = zoo(
        "--recipes",
        str(recipes),
        "run",
        "ic_resnet8",
        "--mirror",
        str(SHARED_MODELS),
        "--offline",
        "--zoo-dir",
        str(root / "zoo"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {"root": root, "recipes": recipes}


@pytest.mark.acceptance
@pytest.mark.slow
def test_search_meets_top1_and_the_written_recipe_converts_to_its_figures(tiny_zoo: dict[str, Any]) -> None:
    recipes, zoo_dir = tiny_zoo["recipes"], tiny_zoo["root"] / "zoo"
    place = ("--zoo-dir", str(zoo_dir))
    done = zoo(
        "--recipes",
        str(recipes),
        "diagnose",
        *place,
        "ic_resnet8",
        "--target",
        "tflite-int8",
        "--goal",
        "top1=1.0",
        "--write",
        "--calibration-sizes",
        "8,32",
        "--json",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    search = result["search"]
    assert search["met"] and search["after"]["top1"] == 1.0
    assert search["after"]["share_outside_int8"] <= 0.10, search["after"]
    assert [r["frames"] for r in result["calibration_sizes"]] == [8, 32]
    assert result["same_pictures"] is True
    layer = result["layers"][0]
    assert {"tensor", "op", "sqnr_db", "error_over_scale"} <= set(layer)
    manifest = json.loads((zoo_dir / "ic_resnet8/tflite-int8/manifest.json").read_text())
    assert (
        manifest["diagnosis"]["search"]["after"] == search["after"]
    )  # Manifest.extras, saved at the top level
    assert (zoo_dir / "ic_resnet8/tflite-int8/diagnosis.svg").read_text().startswith("<svg")
    text = (recipes / "ic_resnet8.yaml").read_text()
    assert "# int8 TFLite model to compare" in text and "keep_float:" in text  # comments kept
    # the recipe with the search's answer converts to the figures the search reported
    again = zoo(
        "--recipes", str(recipes), "convert", "ic_resnet8", *place, "--target", "tflite-int8", "--json"
    )
    assert again.returncode == 0, again.stderr[-2000:]
    row = json.loads(again.stdout)["results"][0]
    assert row["size"] == search["after"]["size"]
    assert row["verification"]["top1_agreement"] == search["after"]["top1"]


@pytest.mark.slow
def test_diagnose_on_a_stand_in_int16x8_and_int8_target_with_a_search(
    server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Per-layer figures on an int16x8 target (the search's other target kind) and a max_rel search on
    an int8 one, on the ResNet50 stand-in (random weights: no claim about accuracy, only that every
    figure is measured and recorded)."""
    from test_convert import fetch_convert, resnet_variant
    from zookit.__main__ import main

    targets = [
        {"name": "tflite-int8", "format": "tflite", "quantization": "int8", "tolerance": {"max_abs": 100.0}},
        {
            "name": "tflite-int16x8",
            "format": "tflite",
            "quantization": "int16x8",
            "tolerance": {"max_abs": 100.0},
        },
    ]
    doc = resnet_variant("quant", targets, server, tmp_path)
    assert fetch_convert(tmp_path, doc, capsys)["exit"] == 0
    base = ["--recipes", str(tmp_path / "recipes"), "diagnose", "quant", "--zoo-dir", str(tmp_path / "zoo")]
    assert main([*base, "--target", "tflite-int16x8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["layers"] and all("sqnr_db" in row for row in result["layers"])
    folder = tmp_path / "zoo" / "quant" / "tflite-int16x8"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["diagnosis"]["layers"] == result["layers"]
    assert (folder / "diagnosis.svg").read_text().lstrip().startswith("<svg")
    assert main([*base, "--target", "tflite-int8", "--goal", "max_rel=1e6", "--json"]) == 0
    search = json.loads(capsys.readouterr().out)["search"]
    assert search["met"]  # a goal the converted target already meets: nothing kept in float
    assert search["after"]["share_outside_int8"] == 0
