"""The per-layer error of a quantized TFLite model against the float model of the same graph: every op
output of both is kept (LiteRT's preserve_all_tensors), matched by tensor name, and each quantized one is
compared with its float twin on the same samples: SQNR in dB (signal power over error power, summed over
the samples) and the RMS error over the tensor's quantization scale (1.0: one quantization step)."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from zookit.libs import load, threads
from zookit.ports import node_name
from zookit.runtimes.litert import quantize

CONVERSION_OPS = ("QUANTIZE", "DEQUANTIZE")
DELEGATE = "DELEGATE"  # a delegate's node stands in for ops already listed: never counted


@dataclass
class Layer:
    tensor: str
    op: str
    index: int  # the op's position in the quantized model
    dtype: str
    scale: float
    sqnr_db: float | None  # None: no error at all
    error_over_scale: float
    max_error_over_scale: float
    elements: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _interpreter(model: bytes) -> Any:
    Interpreter = load("ai_edge_litert.interpreter").Interpreter
    with warnings.catch_warnings():  # keeping every tensor is the point here, not a debugging leftover
        warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors", category=UserWarning)
        interpreter = Interpreter(
            model_content=model, experimental_preserve_all_tensors=True, num_threads=threads()
        )
    interpreter.allocate_tensors()
    return interpreter


def _feed(interpreter: Any, sample: dict[str, np.ndarray]) -> None:
    details = interpreter.get_input_details()
    by_name = {node_name(d["name"]): d for d in details}
    for i, (name, value) in enumerate(sample.items()):
        detail = by_name.get(name, details[i])
        interpreter.set_tensor(detail["index"], quantize(value, detail))
    interpreter.invoke()


def op_outputs(interpreter: Any) -> list[tuple[int, str, dict[str, Any]]]:
    """(position, op type, output tensor detail) of every op of a model."""
    out = []
    for op in interpreter._get_ops_details():
        if op["outputs"].size and op["op_name"] != DELEGATE:
            out.append(
                (int(op["index"]), str(op["op_name"]), interpreter._get_tensor_details(op["outputs"][0], 0))
            )
    return out


def layer_errors(float_model: bytes, quant_model: bytes, samples: list[dict[str, np.ndarray]]) -> list[Layer]:
    """The quantized op outputs of ``quant_model`` with their error against ``float_model``, worst first."""
    fl, qu = _interpreter(float_model), _interpreter(quant_model)
    float_index = {d["name"]: d["index"] for _, _, d in op_outputs(fl)}
    layers = [
        (pos, op, d)
        for pos, op, d in op_outputs(qu)
        if op not in CONVERSION_OPS
        and d["name"] in float_index
        and np.issubdtype(d["dtype"], np.integer)
        and d["quantization"][0]
    ]
    signal = np.zeros(len(layers))
    noise = np.zeros(len(layers))
    worst = np.zeros(len(layers))
    counts = np.zeros(len(layers), dtype=np.int64)
    for sample in samples:
        _feed(fl, sample)
        _feed(qu, sample)
        for i, (_, _, d) in enumerate(layers):
            scale, zero = d["quantization"]
            q = (qu.get_tensor(d["index"]).astype(np.float64) - zero) * scale
            f = fl.get_tensor(float_index[d["name"]]).astype(np.float64)
            if f.shape != q.shape:
                continue
            err = f - q
            signal[i] += float(np.sum(f * f))
            noise[i] += float(np.sum(err * err))
            worst[i] = max(worst[i], float(np.max(np.abs(err))) / scale)
            counts[i] += f.size
    out = []
    for i, (pos, op, d) in enumerate(layers):
        if not counts[i]:
            continue
        scale = float(d["quantization"][0])
        sqnr = 10 * math.log10(signal[i] / noise[i]) if noise[i] > 0 and signal[i] > 0 else None
        rms = math.sqrt(noise[i] / counts[i])
        out.append(
            Layer(
                d["name"],
                op,
                pos,
                np.dtype(d["dtype"]).name,
                scale,
                None if sqnr is None else round(sqnr, 3),
                round(rms / scale, 4),
                round(float(worst[i]), 3),
                int(counts[i]),
            )
        )
    return sorted(out, key=lambda layer: math.inf if layer.sqnr_db is None else layer.sqnr_db)


def op_census(model: bytes) -> dict[str, int]:
    """How many compute ops a model has (QUANTIZE/DEQUANTIZE apart) and how many of them run in float."""
    ops = op_outputs(_interpreter(model))
    compute = [(op, d) for _, op, d in ops if op not in CONVERSION_OPS]
    floats = sum(1 for _, d in compute if np.issubdtype(d["dtype"], np.floating))
    return {"ops": len(compute), "float_ops": floats, "conversion_ops": len(ops) - len(compute)}


def layer_names(model: bytes) -> set[str]:
    """The output tensor names of a model's compute ops (what keep_float.nodes names)."""
    return {d["name"] for _, op, d in op_outputs(_interpreter(model)) if op not in CONVERSION_OPS}
