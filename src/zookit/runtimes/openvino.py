"""OpenVINO itself (``openvino``, ``nncf``: extra ``[openvino]``): read an ONNX model, quantize it with
NNCF, compile it for the CPU, run it on float-domain feeds keyed by the recipe's tensor names, time it.

The float model is compiled with ``INFERENCE_PRECISION_HINT: f32``: on a CPU with bf16 or fp16
arithmetic the plugin would otherwise run a float model in the lower precision, and the float figures
would not be those of the float IR. The int8 model keeps its int8 ops (they run in int8 whatever the
hint; the hint decides the ops NNCF left in float).
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import ZooError
from zookit.libs import load
from zookit.ports import Port, onnx_tensor_name

Feed = dict[str, np.ndarray]
Runner = Callable[[Feed], Feed]
FLOAT_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}
# NNCF's default for activations clips to quantiles; on ic_resnet8's real pictures min/max halved the error
# (max abs 0.35 -> 0.31 with bias correction, top-1 0.97 -> 1.0)
RANGE_ESTIMATOR = "min/max of the calibration samples (RangeEstimatorParametersSet.MINMAX)"


class OpenVinoError(ZooError):
    """OpenVINO or NNCF cannot read, quantize, compile or run the model: its reason, in one line."""


def _reason(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Traceback", "File ", "Check ")) and ":" in line]
    return (useful or lines or [type(exc).__name__])[-1][:300]


def read_onnx(path: Path, inputs: list[Port], nchw: bool) -> Any:
    """The ONNX file as an OpenVINO model, its inputs reshaped to the recipe's static shapes."""
    ov = load("openvino")
    try:
        model = ov.convert_model(str(path))
    except Exception as exc:  # OpenVINO raises RuntimeError and its own OpConversionFailure
        raise OpenVinoError(f"openvino.convert_model cannot read {path.name}: {_reason(exc)}") from None
    names = _names(model.inputs)
    index = _index(names, inputs, "input")
    shapes = {}
    for port, i in zip(inputs, index, strict=True):
        shape = list(port.shape)
        if nchw and len(shape) == 4:
            shape = [shape[0], shape[3], shape[1], shape[2]]
        shapes[model.inputs[i]] = ov.PartialShape(shape)
    try:
        model.reshape(shapes)
    except Exception as exc:
        raise OpenVinoError(
            f"{path.name}: cannot fix the input shapes {list(shapes.values())}: {_reason(exc)}"
        ) from None
    return model


def _names(ports: Any) -> list[list[str]]:
    return [sorted(p.get_names()) for p in ports]


def _index(names: list[list[str]], ports: list[Port], kind: str) -> list[int]:
    """The model's index of each recipe port: by tensor name (``x`` or ``x:0``), else by order."""
    flat = [(n, i) for i, group in enumerate(names) for n in group]
    out = []
    for k, port in enumerate(ports):
        found = onnx_tensor_name(port.name, [n for n, _ in flat])
        if found is not None:
            out.append(next(i for n, i in flat if n == found))
        elif len(names) == len(ports):
            out.append(k)
        else:
            raise OpenVinoError(f"the OpenVINO model has no {kind} {port.name!r} (it has {names})")
    return out


def compile_runner(
    model: Any, inputs: list[Port], outputs: list[Port], nchw: bool, config: dict[str, Any]
) -> Runner:
    """The model compiled for the CPU with ``config``, as a runner on the recipe's float feeds."""
    ov = load("openvino")
    try:
        compiled = ov.Core().compile_model(model, "CPU", config)
    except Exception as exc:
        raise OpenVinoError(f"the CPU plugin cannot compile the model: {_reason(exc)}") from None
    in_index = _index(_names(compiled.inputs), inputs, "input")
    out_index = _index(_names(compiled.outputs), outputs, "output")
    request = compiled.create_infer_request()

    def run(feed: Feed) -> Feed:
        values = []
        for port in inputs:
            x = feed[port.name]
            values.append(x.transpose(0, 3, 1, 2) if nchw and x.ndim == 4 else x)
        ordered: list[Any] = [None] * len(values)
        for value, i in zip(values, in_index, strict=True):
            ordered[i] = value
        try:
            result = request.infer(ordered)
        except Exception as exc:
            raise OpenVinoError(f"OpenVINO failed to run the model: {_reason(exc)}") from None
        return {
            p.name: np.asarray(result[compiled.outputs[i]]).copy()
            for p, i in zip(outputs, out_index, strict=True)
        }

    return run


def quantize(model: Any, samples: list[list[np.ndarray]], preset: str) -> Any:
    """NNCF's post-training quantization of ``model`` on every one of ``samples`` (inputs in the model's
    order), activation ranges from their minimum and maximum over the samples (RANGE_ESTIMATOR), as
    TensorFlow's converter calibrates the TFLite int8 targets. NNCF's progress bars (written to
    standard output) are kept out of zookit's output."""
    nncf = load("nncf")
    advanced = load("nncf.quantization.advanced_parameters")
    ranges = load("nncf.quantization.range_estimator")
    presets = {"performance": nncf.QuantizationPreset.PERFORMANCE, "mixed": nncf.QuantizationPreset.MIXED}
    parameters = advanced.AdvancedQuantizationParameters(
        activations_range_estimator_params=ranges.RangeEstimatorParametersSet.MINMAX
    )
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return nncf.quantize(
                model,
                nncf.Dataset(samples),
                subset_size=len(samples),
                preset=presets[preset],
                advanced_parameters=parameters,
            )
        except Exception as exc:  # NNCF raises many kinds
            raise OpenVinoError(f"NNCF cannot quantize the model: {_reason(exc)}") from None


def ordered_inputs(model: Any, inputs: list[Port], feed: Feed, nchw: bool) -> list[np.ndarray]:
    """A feed as the list NNCF passes to the model (the model's input order)."""
    index = _index(_names(model.inputs), inputs, "input")
    out: list[Any] = [None] * len(inputs)
    for port, i in zip(inputs, index, strict=True):
        x = feed[port.name]
        out[i] = x.transpose(0, 3, 1, 2) if nchw and x.ndim == 4 else x
    return out


def save(model: Any, xml: Path, fp16: bool) -> None:
    """``xml`` and its ``.bin`` (in a staging folder: the caller swaps the folder in whole)."""
    ov = load("openvino")
    ov.save_model(model, str(xml), compress_to_fp16=fp16)


def record_facts(model: Any, facts: dict[str, str]) -> None:
    """Facts written into the IR's ``rt_info`` under ``model_info`` (as OpenVINO's Model API reads them)."""
    for key, value in facts.items():
        model.set_rt_info(value, ["model_info", key])


def latency(model: Any, feed: list[np.ndarray], threads: int, warmup: int, runs: int) -> dict[str, Any]:
    """Synchronous inference of one sample on the CPU, ``threads`` threads, one stream: ``warmup`` runs
    not counted, then ``runs`` timed one by one (``time.perf_counter`` around ``infer``)."""
    ov = load("openvino")
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        **FLOAT_CONFIG,
    }
    try:
        compiled = ov.Core().compile_model(model, "CPU", config)
    except Exception as exc:
        raise OpenVinoError(f"the CPU plugin cannot compile the model: {_reason(exc)}") from None
    request = compiled.create_infer_request()
    for _ in range(warmup):
        request.infer(feed)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        request.infer(feed)
        times.append((time.perf_counter() - started) * 1000)
    deciles = statistics.quantiles(times, n=10)
    return {
        "median_ms": round(statistics.median(times), 4),
        "p10_ms": round(deciles[0], 4),
        "p90_ms": round(deciles[-1], 4),
        "min_ms": round(min(times), 4),
        "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
        "streams": int(compiled.get_property("NUM_STREAMS")),
        "warmup": warmup,
        "runs": runs,
        "method": "synchronous infer() of one sample, timed with time.perf_counter after the warm-up runs",
    }


def version() -> str:
    return str(load("openvino").get_version()).split("-")[0]


def default_precision() -> str:
    """The inference precision a plain ``compile_model(model, "CPU")`` uses on this CPU (bf16 where the
    CPU has AVX-512 BF16 or AMX, f16 on some ARM cores, else f32)."""
    ov = load("openvino")
    return str(ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name())


def cpu_name() -> str:
    ov = load("openvino")
    return str(ov.Core().get_property("CPU", "FULL_DEVICE_NAME"))
