"""Issue 28 point 5: `zoo new --from` writes a recipe that fits the model. NCHW float pictures and uint8
pictures are pictures (`--tidl` accepted, preprocessing in the model's layout); a picture input's
value_range follows from preprocessing (left out; a contradicting one is a recipe error); a quantized
TFLite source gets a tolerance of 16 steps of its output's quantization scale. Each recipe written is run
through `zoo run` (fetch, convert, verify, TIDL package) and must pass as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import standins


def zoo(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zookit", *argv], capture_output=True, text=True, cwd=cwd, timeout=900
    )


def quantized_tflite(path: Path, io: str) -> None:
    """A small picture classifier (16x16 RGB, conv, pooling, dense, softmax) quantized to full int8 by
    TensorFlow's converter, with ``io`` (uint8 or float32) inputs and outputs."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential(
        [
            tf.keras.Input((16, 16, 3)),
            tf.keras.layers.Rescaling(1 / 255),
            tf.keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(5),
            tf.keras.layers.Softmax(),
        ]
    )
    rng = np.random.default_rng(0)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: (
        [rng.uniform(0, 255, (1, 16, 16, 3)).astype(np.float32)] for _ in range(16)
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if io == "uint8":
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    path.write_bytes(converter.convert())


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    standins.onnx_classifier(folder / "nchw.onnx")  # image [batch, 3, 32, 32] float32
    quantized_tflite(folder / "coral.tflite", "uint8")
    return folder


def new_and_run(tmp: Path, models: Path, name: str, file: str) -> tuple[dict, dict]:
    made = zoo("new", name, "--from", str(models / file), "--dir", "recipes", "--tidl", "--json", cwd=tmp)
    assert made.returncode == 0, made.stderr
    recipe = yaml.safe_load((tmp / "recipes" / f"{name}.yaml").read_text())
    run = zoo("--recipes", "recipes", "run", name, "--mirror", str(models), "--offline", "--json", cwd=tmp)
    assert run.stdout, run.stderr
    report = json.loads(run.stdout)
    failed = [
        (s["stage"], s["error"]) for m in report["models"] for s in m["stages"] if s["status"] == "failed"
    ]
    assert run.returncode == 0 and not failed, failed
    return recipe, report


@pytest.mark.slow
def test_point5_nchw_float_pictures_are_pictures(tmp_path: Path, models: Path) -> None:
    recipe, report = new_and_run(tmp_path, models, "nchw", "nchw.onnx")
    (spec,) = recipe["inputs"]
    assert spec == {"name": "image", "shape": [1, 3, 32, 32], "dtype": "float32", "layout": "NCHW"}
    assert recipe["preprocessing"] == {"mean": [0.0], "scale": [1.0], "layout": "NCHW", "size": [32, 32]}
    assert recipe["tidl"]["target"] == "onnx"
    stages = {s["stage"]: s for s in report["models"][0]["stages"]}
    assert stages["convert:onnx"]["detail"]["max_abs"] < 1e-3 and stages["tidl"]["status"] == "done"


@pytest.mark.slow
def test_point5_uint8_quantized_tflite_pictures_get_a_tolerance_in_quantization_steps(
    tmp_path: Path, models: Path
) -> None:
    import zookit

    recipe, report = new_and_run(tmp_path, models, "coral", "coral.tflite")
    (spec,) = recipe["inputs"]
    assert spec == {"name": spec["name"], "shape": [1, 16, 16, 3], "dtype": "uint8", "layout": "NHWC"}
    assert recipe["preprocessing"] == {"mean": [0.0], "scale": [1.0], "size": [16, 16]}
    (out,) = zookit.inspect(models / "coral.tflite").outputs
    assert out.dtype == "uint8" and out.quantization
    (target,) = recipe["targets"]
    assert target["tolerance"] == {"max_abs": float(f"{16 * out.quantization['scale']:.4g}")}
    stages = {s["stage"]: s for s in report["models"][0]["stages"]}
    assert stages["convert:onnx"]["detail"]["max_abs"] <= target["tolerance"]["max_abs"]


def test_point5_a_picture_value_range_that_contradicts_preprocessing_is_a_recipe_error(
    tmp_path: Path,
) -> None:
    from conftest import minimal_recipe
    from zookit.errors import RecipeError
    from zookit.recipe import parse_recipe

    doc = minimal_recipe(
        inputs=[{"name": "input", "shape": [1, 8, 8, 3], "value_range": [0.0, 255.0]}],
        preprocessing={"mean": [127.5], "scale": [1 / 127.5]},  # pixels become [-1, 1]
    )
    with pytest.raises(RecipeError) as info:
        parse_recipe(doc, "recipes/toy.yaml")
    assert info.value.problems == [
        "inputs[0].value_range: [0.0, 255.0], but preprocessing makes pixels 0..255 into [-1, 1]; leave "
        "value_range out (it follows from preprocessing) or make mean and scale what the model was trained with"
    ]
    doc["inputs"][0]["value_range"] = [-1.0, 1.0]
    assert parse_recipe(doc, "recipes/toy.yaml").inputs[0].value_range == (-1.0, 1.0)
    del doc["inputs"][0]["value_range"]  # left out: random data is drawn from what preprocessing makes
    from zookit.data import random_inputs
    from zookit.ports import Port

    recipe = parse_recipe(doc, "recipes/toy.yaml")
    (sample,) = random_inputs(recipe, [Port("input", (1, 8, 8, 3), "float32")], 1)
    assert -1.0 <= sample["input"].min() < -0.9 and 0.9 < sample["input"].max() <= 1.0
