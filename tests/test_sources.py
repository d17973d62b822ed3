"""Issue 12: Keras, SavedModel and TFLite sources; verification that tells the truth about quantized
targets; recipes that can never run refused at validation; the shipped image set; the C-array output.

Every model here is built in the test with real Keras/TensorFlow, served from 127.0.0.1 and converted
with the real converters; converted numbers are checked against the source model's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import FileServer, minimal_recipe, sha256, write_recipe
from test_convert import again, run
from test_run import zoo_run
from zookit.data import IMAGE_SUFFIXES, default_images, image_files
from zookit.recipe import Tolerance
from zookit.verify.compare import compare

pytestmark = pytest.mark.slow

PICTURE = {"mean": [0.0], "scale": [0.00392156862745098], "size": [16, 16]}


def keras_classifier(path: Path) -> None:
    """A small trained-looking Keras classifier (seeded weights) saved as .h5 or .keras."""
    import keras

    keras.utils.set_random_seed(3)
    x = keras.Input(shape=(16, 16, 3), name="input_1")
    y = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(y)
    y = keras.layers.BatchNormalization(name="bn")(y)
    y = keras.layers.GlobalAveragePooling2D(name="pool")(y)
    out = keras.layers.Dense(4, activation="softmax", name="dense")(y)
    keras.Model(x, out).save(path)


def serve(server: FileServer, doc: dict[str, Any], files: dict[str, tuple[bytes, str | None]]) -> None:
    """The recipe's sources: one per file, served here (name -> (bytes, save_as))."""
    doc["sources"] = [
        {
            "file": name,
            "urls": [server.add(name, data)],
            "size": len(data),
            "checksum": sha256(data),
            **({"save_as": save_as} if save_as else {}),
        }
        for name, (data, save_as) in files.items()
    ]


def run_all(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    """`zoo run --all --json` in its own process, as a user runs it; (exit code, report)."""
    code, report, err = zoo_run(tmp_path, *extra)
    return code, report or {"stderr": err}


def stage_errors(report: dict[str, Any]) -> list[str]:
    return [s.get("error") or "" for m in report["models"] for s in m["stages"] if s["status"] == "failed"]


def manifest(tmp_path: Path, model: str, target: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "zoo" / model / target / "manifest.json").read_text())
    return data


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_keras_sources_convert_to_every_target_and_match_the_source(
    suffix: str, server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keras_classifier(tmp_path / f"m{suffix}")
    doc = minimal_recipe(
        "kcls",
        model={"format": "keras", "path": f"m{suffix}"},
        inputs=[{"name": "input_1", "shape": [1, 16, 16, 3], "value_range": [0.0, 1.0]}],
        outputs=[{"name": "dense", "shape": [1, 4]}],
        preprocessing=PICTURE,
        targets=[
            {"name": "tflite-float32", "format": "tflite"},
            {
                "name": "tflite-int8",
                "format": "tflite",
                "quantization": "int8",
                "io_dtype": "int8",
                # seeded, untrained weights: near-flat scores, so top-1 on photos is mostly noise (trained
                # models' agreement is pinned by test_mlperf_tiny); the figures are still checked below
                "tolerance": {"max_rel": 0.5, "top1_agreement": 0.5},
            },
            {"name": "onnx", "format": "onnx"},
        ],
    )
    serve(server, doc, {f"m{suffix}": ((tmp_path / f"m{suffix}").read_bytes(), None)})
    write_recipe(tmp_path / "recipes", doc)
    code, out = run_all(tmp_path, capsys)
    assert code == 0, stage_errors(out)
    import keras

    source = keras.models.load_model(tmp_path / f"m{suffix}", compile=False)
    for target in ("tflite-float32", "onnx"):
        m = manifest(tmp_path, "kcls", target)
        assert m["verification"]["outputs"]["dense"]["max_abs"] < 1e-5, m["verification"]
        # the shipped image set was used: 4 random samples and 32 pictures
        assert m["verification"]["samples"] == 4 + len(image_files(default_images()))
    # the float TFLite file against Keras itself, on an input made here
    from ai_edge_litert.interpreter import Interpreter

    x = np.random.default_rng(5).uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)
    interpreter = Interpreter(model_path=str(tmp_path / "zoo/kcls/tflite-float32/kcls.tflite"))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, np.asarray(source(x, training=False)), atol=1e-5)
    int8 = manifest(tmp_path, "kcls", "tflite-int8")["verification"]
    assert int8["top1"]["judged_on"] == "real_images" and int8["top1"]["real_images"]["samples"] == 32


def test_keras_names_the_recipe_gets_wrong(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keras_classifier(tmp_path / "m.h5")
    doc = minimal_recipe(
        "kbad",
        model={"format": "keras", "path": "m.h5"},
        inputs=[{"name": "input_1", "shape": [1, 16, 16, 3], "value_range": [0.0, 1.0]}],
        outputs=[{"name": "predictions", "shape": [1, 4]}],
    )
    serve(server, doc, {"m.h5": ((tmp_path / "m.h5").read_bytes(), None)})
    write_recipe(tmp_path / "recipes", doc)
    code, out = run_all(tmp_path, capsys)
    assert code == 1
    (error,) = stage_errors(out)
    assert "outputs ['dense']" in error and "predictions" in error, error


def saved_model(folder: Path) -> Any:
    """A SavedModel with two signatures: serving_default (probabilities) and logits."""
    import tensorflow as tf

    rng = np.random.default_rng(2)

    class Net(tf.Module):
        def __init__(self) -> None:
            self.w = tf.Variable(rng.normal(size=(12, 5)).astype(np.float32))
            self.b = tf.Variable(rng.normal(size=(5,)).astype(np.float32))

        def _logits(self, x: Any) -> Any:
            return tf.matmul(tf.reshape(x, [-1, 12]), self.w) + self.b

        @tf.function(input_signature=[tf.TensorSpec([None, 3, 4, 1], tf.float32, name="features")])
        def probabilities(self, features: Any) -> Any:
            return {"scores": tf.nn.softmax(self._logits(features))}

        @tf.function(input_signature=[tf.TensorSpec([None, 3, 4, 1], tf.float32, name="features")])
        def logits(self, features: Any) -> Any:
            return {"logits": self._logits(features)}

    net = Net()
    tf.saved_model.save(
        net, str(folder), signatures={"serving_default": net.probabilities, "logits": net.logits}
    )
    return net


def test_saved_model_signature_chosen_by_name(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = saved_model(tmp_path / "sm")
    files = {
        "saved_model.pb": ((tmp_path / "sm/saved_model.pb").read_bytes(), "net/saved_model.pb"),
        "variables.index": (
            (tmp_path / "sm/variables/variables.index").read_bytes(),
            "net/variables/variables.index",
        ),
    }
    for data in (tmp_path / "sm/variables").glob("variables.data-*"):
        files[data.name] = (data.read_bytes(), f"net/variables/{data.name}")
    doc = minimal_recipe(
        "sm",
        model={"format": "tf-saved-model", "path": "net", "signature": "logits"},
        inputs=[{"name": "features", "shape": [1, 3, 4, 1], "value_range": [-2.0, 2.0]}],
        outputs=[{"name": "logits", "shape": [1, 5]}],
        targets=[{"name": "tflite-float32", "format": "tflite"}, {"name": "onnx", "format": "onnx"}],
    )
    serve(server, doc, files)
    write_recipe(tmp_path / "recipes", doc)
    code, out = run_all(tmp_path, capsys)
    assert code == 0, stage_errors(out)
    assert (tmp_path / "zoo/sm/source/net/variables/variables.index").is_file()
    m = manifest(tmp_path, "sm", "onnx")
    assert m["verification"]["outputs"]["logits"]["max_abs"] < 1e-5
    # the converted model computes the logits signature, not the default one
    import onnxruntime as ort

    x = np.random.default_rng(1).normal(size=(1, 3, 4, 1)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "zoo/sm/onnx/sm.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, net.logits(x)["logits"].numpy(), atol=1e-5)
    # a signature the SavedModel does not have is named, with the ones it has
    doc["model"]["signature"] = "embeddings"
    write_recipe(tmp_path / "recipes", doc)
    code, out = again(tmp_path, capsys, "convert", "sm")
    assert code == 1
    assert "no signature 'embeddings'; it has logits, serving_default" in out["results"][0]["error"]


def int8_tflite(tmp_path: Path) -> bytes:
    """A full-integer TFLite file with int8 I/O, made from the Keras classifier (an upstream's own)."""
    import keras
    import tensorflow as tf

    keras_classifier(tmp_path / "q.keras")
    model = keras.models.load_model(tmp_path / "q.keras", compile=False)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    rng = np.random.default_rng(0)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: (
        [rng.uniform(0, 1, (1, 16, 16, 3)).astype(np.float32)] for _ in range(16)
    )
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    data: bytes = conv.convert()
    return data


def tflite_recipe(name: str, extra_targets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A recipe for the int8 file of ``int8_tflite`` as a TFLite source: target ``tflite`` is the file as
    it is (int8, int8 I/O), written as a C array too."""
    return minimal_recipe(
        name,
        model={"format": "tflite", "path": "q.tflite"},
        inputs=[{"name": "input_1", "shape": [1, 16, 16, 3], "value_range": [0.0, 1.0]}],
        outputs=[{"name": "dense", "shape": [1, 4]}],
        preprocessing=PICTURE,
        targets=[
            {
                "name": "tflite",
                "format": "tflite",
                "quantization": "int8",
                "io_dtype": "int8",
                "c_array": True,
            },
            *(extra_targets or []),
        ],
    )


def test_a_tflite_source_is_packaged_as_it_is_and_converts_to_onnx(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = int8_tflite(tmp_path)
    doc = tflite_recipe("lite", extra_targets=[{"name": "onnx", "format": "onnx"}])
    doc["tidl"] = {"target": "tflite", "post_proc_type": "classification"}
    serve(server, doc, {"q.tflite": (model, None)})
    write_recipe(tmp_path / "recipes", doc)
    code, out = run_all(tmp_path, capsys)
    assert code == 0, stage_errors(out)
    packaged = tmp_path / "zoo/lite/tflite/lite.tflite"
    assert packaged.read_bytes() == model  # as it is
    assert manifest(tmp_path, "lite", "tflite")["options"]["converter"].startswith("none")
    onnx_v = manifest(tmp_path, "lite", "onnx")["verification"]
    # LiteRT on the source against onnxruntime on tf2onnx's model, in float values: at most one step
    # of the output's quantization (1/256 for a softmax)
    assert onnx_v["passed"] and onnx_v["outputs"]["dense"]["max_abs"] <= 1 / 256 + 1e-6, onnx_v
    options = json.loads((tmp_path / "zoo/lite/tidl/runtime_options.json").read_text())
    assert options["advanced_options:quantization_scale_type"] == 3  # TI's value for pre-quantized TFLite
    from zookit.__main__ import main

    capsys.readouterr()
    code = main(["check", str(packaged), "--json"])
    printed = capsys.readouterr().out
    checked = json.loads(printed[printed.index("{") :])
    assert code == 0 and checked["problems"] == 0 and checked["findings"] == [], printed
    # a target that calls the int8 file float32 is refused, saying what the file is
    doc["targets"][0].update(quantization="float32", io_dtype="float32")
    write_recipe(tmp_path / "recipes", doc)
    code, out = again(tmp_path, capsys, "convert", "lite", "--target", "tflite")
    assert code == 1
    assert "the source TFLite file is int8 with int8 inputs" in out["results"][0]["error"]


def compile_and_run(folder: Path, array: str, tmp_path: Path) -> tuple[int, int, int]:
    """Compile the written .cc with a program printing length, FNV-1a checksum and alignment."""
    main = tmp_path / f"main_{array}.cc"
    main.write_text(
        f'#include <cstdio>\n#include <cstdint>\n#include "{array}.h"\n'
        "int main() {\n  uint32_t h = 2166136261u;\n"
        f"  for (unsigned int i = 0; i < {array}_len; ++i) {{ h ^= {array}[i]; h *= 16777619u; }}\n"
        f'  std::printf("%u %u %u\\n", {array}_len, h, (unsigned)(reinterpret_cast<uintptr_t>({array}) % 16));\n'
        "  return 0;\n}\n"
    )
    exe = tmp_path / f"prog_{array}"
    subprocess.run(
        [
            "g++",
            "-std=c++17",
            "-Wall",
            "-Werror",
            "-I",
            str(folder),
            str(main),
            str(folder / f"{array}.cc"),
            "-o",
            str(exe),
        ],
        check=True,
    )
    length, checksum, alignment = (
        int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    )
    return length, checksum, alignment


def fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def check_c_array(target_dir: Path, tmp_path: Path) -> dict[str, Any]:
    record = json.loads((target_dir / "manifest.json").read_text())
    c = record["c_array"]
    model = (target_dir / record["output"]["file"]).read_bytes()
    length, checksum, alignment = compile_and_run(target_dir, c["array"], tmp_path)
    assert (length, checksum, alignment) == (len(model), fnv1a(model), 0)
    header = (target_dir / c["header"]).read_text()
    assert header.count(f"#ifndef ZOOKIT_{c['array'].upper()}_H_") == 1 and f"{c['array']}_len" in header
    tensors: dict[str, Any] = json.loads((target_dir / c["tensors"]).read_text())
    assert tensors["length"] == len(model) and tensors["sha256"] == hashlib.sha256(model).hexdigest()
    return tensors


@pytest.mark.skipif(shutil.which("g++") is None, reason="no system C++ compiler (g++) on this machine")
def test_c_array_compiles_and_holds_the_model_bytes(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = int8_tflite(tmp_path)
    doc = tflite_recipe("mcu")
    serve(server, doc, {"q.tflite": (model, None)})
    write_recipe(tmp_path / "recipes", doc)
    code, out = run_all(tmp_path, capsys)
    assert code == 0, stage_errors(out)
    tensors = check_c_array(tmp_path / "zoo/mcu/tflite", tmp_path)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    (i,), (o,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert tensors["inputs"][0] | {} == {
        "name": i["name"],
        "dtype": "int8",
        "shape": [1, 16, 16, 3],
        "scale": pytest.approx(i["quantization"][0]),
        "zero_point": i["quantization"][1],
    }
    assert tensors["outputs"][0]["scale"] == pytest.approx(o["quantization"][0])


# --- verification ---------------------------------------------------------------------------------


def runner_of(outputs: list[np.ndarray]) -> Any:
    """The converted model's outputs, one per sample in order (what LiteRT would return)."""
    it = iter(outputs)
    return lambda sample: {"scores": next(it)}


def test_quantized_agreement_counts_every_real_image_and_leaves_random_samples_out() -> None:
    # 2 random samples, then 4 real images; the source's scores and a quantized model's
    source = (
        [np.array([[0.9, 0.1]]), np.array([[0.2, 0.8]])]
        + [np.array([[0.52, 0.48]])] * 2
        + [np.array([[0.9, 0.1]])] * 2
    )
    converted = (
        [np.array([[0.1, 0.9]]), np.array([[0.8, 0.2]])]
        + [np.array([[0.45, 0.55]]), np.array([[0.6, 0.4]])]
        + [np.array([[0.88, 0.12]])] * 2
    )
    pairs = [({"x": np.zeros(1)}, {"scores": s}) for s in source]
    real = [False, False, True, True, True, True]
    report = compare(
        pairs, runner_of(converted), Tolerance(max_abs=0.1, top1_agreement=0.8), True, True, real
    )
    # a disagreement on an image is counted even though the source's lead (0.04) is within max_abs
    assert report.top1["real_images"]["samples"] == 4 and report.top1["real_images"]["agreement"] == 0.75
    assert report.top1["real_images"]["disagreements"] == [
        {"sample": 2, "image": True, "source": 0, "converted": 1, "source_margin": 0.04}
    ]
    assert report.top1["all"]["agreement"] == 0.5 and len(report.top1["all"]["disagreements"]) == 3
    assert report.top1["judged_on"] == "real_images" and report.top1_agreement == 0.75
    # the random samples stay in the max-abs check
    assert report.outputs["scores"]["max_abs"] == pytest.approx(0.8)
    assert any("top-1 agreement 0.75 < 0.8" in f for f in report.failures)
    # float targets keep the strict rule (decisive samples)
    strict = compare(
        pairs, runner_of(converted), Tolerance(max_abs=0.1, top1_agreement=1.0), True, False, real
    )
    assert strict.top1 is None and strict.top1_decisive == 4  # the two near ties left out


def test_without_images_quantized_agreement_is_judged_on_all_samples() -> None:
    source = [np.array([[0.9, 0.1]])] * 4
    converted = [np.array([[0.9, 0.1]])] * 3 + [np.array([[0.4, 0.6]])]
    pairs = [({"x": np.zeros(1)}, {"scores": s}) for s in source]
    report = compare(pairs, runner_of(converted), Tolerance(top1_agreement=0.8), True, True, [False] * 4)
    assert report.top1["judged_on"] == "all" and report.top1_agreement == 0.75 and not report.passed


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            {"model": {"format": "onnx", "path": "m.onnx"}},
            "targets[0].format: a TFLite target needs a TensorFlow, Keras or TFLite source",
        ),
        (
            {"preprocessing": {"mean": [0.0], "scale": [1.0]}},
            "inputs[0].shape: [1, 4] is not a picture in NHWC",
        ),
        (
            {"inputs": [{"name": "input", "shape": [1, 4]}]},
            "inputs[0].value_range: required for a model whose inputs",
        ),
        (
            {"targets": [{"name": "t", "format": "tflite", "compare_with": "upstream.tflite"}]},
            "targets[0].compare_with: 'upstream.tflite' is not one of the source files",
        ),
        ({"model": {"format": "keras", "path": "m.pb"}}, "a keras model is a .h5 or .keras file"),
        (
            {"model": {"format": "onnx", "path": "m.onnx", "signature": "x"}},
            "signature: only for tf-saved-model",
        ),
        (
            {"targets": [{"name": "t", "format": "onnx", "c_array": True}]},
            "c_array: only TFLite targets are written as C arrays",
        ),
    ],
)
def test_validate_refuses_recipes_that_can_never_run(
    change: dict[str, Any], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_recipe(tmp_path / "recipes", minimal_recipe("never", **change))
    code, out = run(["validate", str(path), "--json"], capsys)
    assert code == 2
    assert any(expected in p for p in out["problems"][str(path)]), out


def test_images_for_a_model_that_takes_no_pictures_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zookit.__main__ import main

    write_recipe(tmp_path / "recipes", minimal_recipe("feat"))
    code = main(
        ["--recipes", str(tmp_path / "recipes"), "convert", "feat", "--images", str(default_images())]
    )
    assert code == 2
    assert "--images: feat take(s) no pictures" in capsys.readouterr().err


def test_the_shipped_image_set_is_listed_with_its_licenses() -> None:
    import tensorflow as tf

    files = image_files(default_images())
    assert len(files) >= 24 and all(f.suffix in IMAGE_SUFFIXES for f in files)
    listing = (default_images() / "SOURCES.md").read_text()
    for f in files:
        assert f"| {f.stem.rsplit('-', 1)[0].removesuffix('-upper').removesuffix('-lower')}-* |" in listing, f
        image = tf.io.decode_image(f.read_bytes(), channels=3)
        assert max(image.shape[:2]) <= 224 and f.stat().st_size < 40_000
    assert "public domain" in listing and "CC0" in listing


def test_a_keras_recipe_with_the_wrong_input_shape_names_the_field(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A recipe whose input shape the model does not take: the field and both shapes, not Keras's
    ValueError as an internal error (#24 point 3)."""
    keras_classifier(tmp_path / "m.h5")
    doc = minimal_recipe(
        "kshape",
        model={"format": "keras", "path": "m.h5"},
        inputs=[{"name": "input_1", "shape": [1, 20, 20, 3], "value_range": [0.0, 1.0]}],
        outputs=[{"name": "dense", "shape": [1, 4]}],
    )
    serve(server, doc, {"m.h5": ((tmp_path / "m.h5").read_bytes(), None)})
    write_recipe(tmp_path / "recipes", doc)
    code, out = run_all(tmp_path, capsys)
    assert code == 1
    (error,) = stage_errors(out)
    assert "inputs[0].shape: the recipe says [1, 20, 20, 3], the model takes ['?', 16, 16, 3]" in error, error
    assert "internal error" not in error
