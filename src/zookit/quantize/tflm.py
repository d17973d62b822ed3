"""A fix for a target TensorFlow Lite Micro runs (``c_array: true``) checked under TFLM itself: the
model the next run packages, its ops looked up in TFLM's op resolver, allocated and invoked by the
tflite-micro interpreter on the verification pictures, its top-1 agreement with the source counted.

A layer kept in float sits between a DEQUANTIZE and a QUANTIZE and runs on TFLM's float reference
kernels (measured on ic_resnet8: it runs, in a larger arena). TensorFlow's converter offers no
per-layer choice of 16-bit activations (its selective quantization keeps layers in float only;
int16x8 is a whole-model mode: "Mixed precision post training quantization is currently not supported
in TFLite", tensorflow/tensorflow#61720; a model written with both is mis-converted, #106742), so float
is the only per-layer fix there is; a whole-model int16x8 target is the integer-only alternative."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import ZooError
from zookit.recipe import Target

ARENA = 64 << 20  # ample for any model diagnose converts; the tflm stage measures the real figure
NOTE = (
    "the layers kept in float run on TFLM's float reference kernels (slow on a microcontroller without "
    "an FPU); TensorFlow's converter has no per-layer 16-bit activations (tensorflow/tensorflow#61720), "
    "so float is the only per-layer fix; a whole-model int16x8 target is the integer-only alternative"
)


def tflm_check(prepared: Any, target: Target, model: bytes, images: Path) -> dict[str, Any]:
    """Whether TFLM runs ``model`` and, if so, its top-1 agreement with the source on ``images``."""
    from zookit.runtimes import tflm as runtime
    from zookit.runtimes.tflm_ops import resolver_methods
    from zookit.verify.model import random_sample_count, reference_outputs

    try:
        ops = runtime.op_counts(model)
        resolver_methods(ops)
        ins, outs = runtime.boundaries(model)
        in_index = runtime.match(prepared.inputs, ins, "input")
        out_index = runtime.match(prepared.outputs, outs, "output")
        raw, _ = runtime.tflm_raw(model, ARENA)
        pairs = reference_outputs(prepared, target, images).result()[random_sample_count(prepared.recipe) :]
        first = prepared.outputs[0].name
        agree = []
        for sample, expected in pairs:
            got = raw(runtime.raw_inputs(sample, prepared.inputs, in_index, ins))[out_index[0]]
            agree.append(int(np.argmax(got)) == int(np.argmax(expected[first])))
    except ZooError as exc:
        return {"runs": False, "reason": str(exc), "note": NOTE}
    return {
        "runs": True,
        "ops": ops,
        "top1": sum(agree) / len(agree) if agree and prepared.recipe.task == "classification" else None,
        "samples": len(agree),
        "images": str(images),
        "note": NOTE,
    }
