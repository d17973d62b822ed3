"""LiteRT (``ai_edge_litert``) as the runtime of a TFLite model: its default kernels as a user gets them,
or its reference kernels; and the per-tensor (de)quantization every runner of a quantized model uses.

A runner takes and returns float-domain arrays keyed by tensor name (without ':0'): quantized inputs and
outputs are (de)quantized here with the model's own parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zookit.errors import VerificationError
from zookit.libs import load, threads
from zookit.ports import Port, node_name
from zookit.reference import Runner


def litert_kernels(reference: bool = False) -> str:
    """What runs a TFLite file here, said as each figure records it."""
    version = getattr(load("ai_edge_litert"), "__version__", "?")
    if reference:
        return f"LiteRT {version} reference kernels (OpResolverType.BUILTIN_REF, no XNNPACK), 1 thread"
    # no thread count: it does not change LiteRT's outputs (measured bit-identical with 1, 2 and the default)
    return f"LiteRT {version} default kernels (XNNPACK delegate for float ops)"


def tflite_runner(model: bytes, inputs: list[Port], outputs: list[Port], reference: bool = False) -> Runner:
    """LiteRT as a user gets it (``Interpreter(model_content=...)``: its default kernels and XNNPACK), or
    with ``reference`` its reference kernels on one thread (what TFLM's kernels are ports of)."""
    litert = load("ai_edge_litert.interpreter")

    try:
        if reference:
            interpreter = litert.Interpreter(
                model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
            )
        else:
            interpreter = litert.Interpreter(model_content=model, num_threads=threads())
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise VerificationError(f"LiteRT cannot load the converted model: {exc}") from None
    in_details = _match(interpreter.get_input_details(), inputs, "input")
    out_details = _match(interpreter.get_output_details(), outputs, "output")

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for port, detail in zip(inputs, in_details, strict=True):
            interpreter.set_tensor(detail["index"], quantize(feed[port.name], detail))
        interpreter.invoke()
        return {
            p.name: dequantize(interpreter.get_tensor(d["index"]), d)
            for p, d in zip(outputs, out_details, strict=True)
        }

    return run


def _match(details: list[dict[str, Any]], ports: list[Port], kind: str) -> list[dict[str, Any]]:
    """Pair interpreter tensors with ports by name, falling back to order when names were rewritten."""
    exact = {d["name"]: d for d in details}  # 'op:1' names its op's second output: exact names win
    by_name = {**{node_name(n): d for n, d in reversed(exact.items())}, **exact}
    if all(p.name in by_name for p in ports):
        return [by_name[p.name] for p in ports]
    if len(details) != len(ports):
        raise VerificationError(
            f"the converted model has {len(details)} {kind}s ({[d['name'] for d in details]}), expected {len(ports)}"
        )
    return details


def quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """``x`` as the codes of the tensor ``detail`` describes (LiteRT's form: dtype and per-tensor scale and
    zero point); a float tensor, or one already of its dtype, is only cast."""
    dtype = detail["dtype"]
    if np.issubdtype(dtype, np.floating) or dtype == x.dtype:
        return x.astype(dtype)
    scale, zero = detail["quantization"]
    if not scale:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.asarray(np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype))


def dequantize(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """The real values of the integer codes ``y`` of the tensor ``detail`` describes (float: as they are)."""
    scale, zero = detail["quantization"]
    if np.issubdtype(y.dtype, np.integer) and scale:
        return np.asarray((y.astype(np.float32) - zero) * scale)
    return np.asarray(y)
