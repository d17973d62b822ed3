"""Conversion overhead: `zoo convert` against a minimal direct converter script, same model, same run.

For tflite-float32, tflite-int8 and onnx: wall time and peak memory of each, and the ratio. Uses the
MobileNetV1 stand-in from ../shared/models when present (else a small generated graph). Prints figures.
Run: .venv/bin/python bench/convert_bench.py
"""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, median_runs, run_measured, table, zoo_command

REPO = Path(__file__).resolve().parents[1]
STANDIN = (
    REPO.parent / "shared" / "models" / "standins" / "mobilenet_v1_1.0_224" / "mobilenet_v1_1.0_224_frozen.pb"
)

DIRECT = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf
    pb, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "onnx":
        import tf2onnx
        gd = tf.compat.v1.GraphDef.FromString(open(pb, "rb").read())
        model, _ = tf2onnx.convert.from_graph_def(gd, input_names=["input:0"],
            output_names=["MobilenetV1/Predictions/Reshape_1:0"], opset=13)
        open(out, "wb").write(model.SerializeToString())
        sys.exit(0)
    conv = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(pb, ["input"],
        ["MobilenetV1/Predictions/Reshape_1"], {"input": [1, 224, 224, 3]})
    if mode == "int8":
        rng = np.random.default_rng(1)
        data = [rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32) for _ in range(16)]
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([d] for d in data)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.uint8
        conv.inference_output_type = tf.uint8
    open(out, "wb").write(conv.convert())
""")

RECIPE = """
name: bench
description: conversion benchmark
task: classification
license: none
sources: [{file: m.pb, urls: ["http://127.0.0.1:9/m.pb"], size: null, checksum: null}]
model: {format: tf-frozen-graph, path: m.pb}
inputs: [{name: input, shape: [1, 224, 224, 3], value_range: [-1, 1]}]
outputs: [{name: MobilenetV1/Predictions/Reshape_1, shape: [1, 1001]}]
preprocessing: {mean: [127.5], scale: [0.0078125]}
targets:
  - {name: tflite-float32, format: tflite, tolerance: {max_abs: 1.0e-3}}
  - {name: tflite-int8, format: tflite, quantization: int8, io_dtype: uint8, tolerance: {max_abs: 0.05}}
  - {name: onnx, format: onnx, opset: 13, tolerance: {max_abs: 1.0e-3}}
"""


def measure(repeat: int = 3) -> list[tuple[str, ...]]:
    """(target, direct, zoo convert, ratio, direct peak, zoo peak) rows: medians of ``repeat`` runs of
    each, the direct script and `zoo convert` taking turns so that a slow spell of the machine falls on
    both."""
    work = WORK / "convert"
    shutil.rmtree(work, ignore_errors=True)
    (work / "recipes").mkdir(parents=True)
    (work / "zoo" / "bench" / "source").mkdir(parents=True)
    if not STANDIN.is_file():
        sys.exit(f"{STANDIN} is absent: this benchmark needs ../shared/models")
    shutil.copy(STANDIN, work / "zoo" / "bench" / "source" / "m.pb")
    (work / "recipes" / "bench.yaml").write_text(RECIPE)
    (work / "direct.py").write_text(DIRECT)
    rows = []
    for target, mode in (("tflite-float32", "float32"), ("tflite-int8", "int8"), ("onnx", "onnx")):
        direct = [
            sys.executable,
            str(work / "direct.py"),
            str(STANDIN),
            mode,
            str(work / f"direct-{mode}.out"),
        ]
        zoo = [*zoo_command(), "--recipes", str(work / "recipes"), "convert", "bench", "--target", target]
        zoo += ["--zoo-dir", str(work / "zoo")]
        direct_runs, zoo_runs = [], []
        for _ in range(repeat):
            direct_runs.append(run_measured(direct))
            zoo_runs.append(run_measured(zoo))
        direct_s, direct_mb, direct_spread = median_runs(direct_runs)
        zoo_s, zoo_mb, zoo_spread = median_runs(zoo_runs)
        rows.append(
            (
                target,
                f"{direct_s:.2f} s ({direct_spread})",
                f"{zoo_s:.2f} s ({zoo_spread})",
                f"{zoo_s / direct_s:.2f}x",
                f"{direct_mb:.0f} MB",
                f"{zoo_mb:.0f} MB",
            )
        )
    return rows


def main() -> None:
    rows = measure()
    print(
        "zoo convert (includes trimming and verification) vs a direct converter script, MobileNetV1 stand-in;"
        " median of 3 runs each (range)"
    )
    print(table(rows, ("target", "direct", "zoo convert", "ratio", "direct peak", "zoo peak")))


if __name__ == "__main__":
    main()
