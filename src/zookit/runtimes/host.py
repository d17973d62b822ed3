"""The runtime that runs a converted file of each format on this machine (LiteRT for TFLite, onnxruntime
for ONNX), as one call per format."""

from __future__ import annotations

from collections.abc import Callable

from zookit.ports import Port
from zookit.recipe import Target
from zookit.reference import Runner
from zookit.runtimes.litert import tflite_runner
from zookit.runtimes.onnx import onnx_runner

HostRunner = Callable[[bytes, list[Port], list[Port], Target], Runner]


def _run_tflite(model: bytes, inputs: list[Port], outputs: list[Port], target: Target) -> Runner:
    return tflite_runner(model, inputs, outputs)


def _run_onnx(model: bytes, inputs: list[Port], outputs: list[Port], target: Target) -> Runner:
    return onnx_runner(model, inputs, outputs, nchw=target.inputs_as_nchw)


# How a converted file of each target format runs on this machine (a format missing here is one no host
# runtime runs: its targets are checked by their own tool, not by running them here).
HOST_RUNNERS: dict[str, HostRunner] = {"tflite": _run_tflite, "onnx": _run_onnx}
