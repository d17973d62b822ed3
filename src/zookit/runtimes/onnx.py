"""onnxruntime as the runtime of an ONNX model (its CPU provider), fed and read in the float domain: the
integer inputs and outputs of a quantized model converted by tf2onnx are (de)quantized with the scale and
zero point of the graph's own boundary Quantize/DequantizeLinear nodes."""

from __future__ import annotations

from typing import Any

import numpy as np

from zookit.errors import VerificationError
from zookit.libs import load, threads
from zookit.ports import Port, onnx_tensor_name
from zookit.reference import Runner
from zookit.runtimes.litert import dequantize, quantize


def onnx_runner(model: bytes, inputs: list[Port], outputs: list[Port], nchw: bool = False) -> Runner:
    ort = load("onnxruntime")

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads()
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise VerificationError(f"onnxruntime cannot load the model: {exc}") from None
    in_names = [i.name for i in session.get_inputs()]
    out_names = [o.name for o in session.get_outputs()]
    in_map = _onnx_names(in_names, inputs, "input")
    out_map = _onnx_names(out_names, outputs, "output")
    integer = {i.name for i in [*session.get_inputs(), *session.get_outputs()] if i.type in INTEGER_TYPES}
    boundary = boundary_quantization(model) if integer else {}

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ort_feed = {}
        for port in inputs:
            name = in_map[port.name]
            x = feed[port.name]
            if name in boundary and np.issubdtype(x.dtype, np.floating):
                x = quantize(x, boundary[name])
            ort_feed[name] = x.transpose(0, 3, 1, 2) if nchw and x.ndim == 4 else x
        values = session.run([out_map[p.name] for p in outputs], ort_feed)
        return {
            p.name: dequantize(np.asarray(v), boundary[out_map[p.name]])
            if out_map[p.name] in boundary
            else np.asarray(v)
            for p, v in zip(outputs, values, strict=True)
        }

    return run


INTEGER_TYPES = ("tensor(int8)", "tensor(uint8)", "tensor(int16)")
LAYOUT_OPS = ("Transpose", "Reshape", "Identity", "Squeeze", "Unsqueeze")


def boundary_quantization(model: bytes) -> dict[str, dict[str, Any]]:
    """Integer inputs and outputs of an ONNX model (a quantized TFLite model converted by tf2onnx): the
    scale and zero point of the DequantizeLinear that reads each input and of the QuantizeLinear that
    writes each output, in the form the TFLite runner uses, so both runners speak float values."""
    onnx = load("onnx")
    from onnx import numpy_helper

    graph = onnx.load_from_string(model).graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    out: dict[str, dict[str, Any]] = {}

    def record(tensor: str, node: Any) -> None:
        scale = constants.get(node.input[1])
        zero = constants.get(node.input[2]) if len(node.input) > 2 else np.zeros((), np.int8)
        if scale is not None and zero is not None and scale.size == 1 and zero.size == 1:
            out[tensor] = {"dtype": zero.dtype, "quantization": (float(scale), int(zero))}

    consumers: dict[str, list[Any]] = {}
    producer = {o: node for node in graph.node for o in node.output}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for i in graph.input:  # input -> (layout ops) -> DequantizeLinear
        tensor, walked = i.name, {i.name}  # a cyclic graph must not loop
        while len(consumers.get(tensor, [])) == 1 and consumers[tensor][0].op_type in LAYOUT_OPS:
            tensor = consumers[tensor][0].output[0]
            if tensor in walked:
                break
            walked.add(tensor)
        found = consumers.get(tensor, [])
        if len(found) == 1 and found[0].op_type == "DequantizeLinear":
            record(i.name, found[0])

    def quantizer(tensor: str, depth: int = 0) -> Any:
        """The QuantizeLinear that sets ``tensor``'s codes through layout ops and, for a Concat (tf2onnx
        joins quantized heads that share one scale), through every input to one and the same scale."""
        node = producer.get(tensor)
        seen: set[int] = set()
        while node is not None and node.op_type in LAYOUT_OPS and node.input and id(node) not in seen:
            seen.add(id(node))
            node = producer.get(node.input[0])
        if node is None or depth > 8:
            return None
        if node.op_type == "Concat":
            found = [quantizer(i, depth + 1) for i in node.input]
            keys = {(q.input[1], q.input[2] if len(q.input) > 2 else "") for q in found if q is not None}
            same = {
                (float(constants[a]), int(constants[b]) if b else 0)
                for a, b in keys
                if a in constants and (not b or b in constants)
            }
            return found[0] if None not in found and len(same) == 1 else None
        return node if node.op_type == "QuantizeLinear" else None

    for o in graph.output:  # QuantizeLinear -> (layout ops, a Concat of one scale) -> output
        node = quantizer(o.name)
        if node is not None:
            record(o.name, node)
    return out


def _onnx_names(names: list[str], ports: list[Port], kind: str) -> dict[str, str]:
    out = {}
    for i, port in enumerate(ports):
        found = onnx_tensor_name(port.name, names)
        if found is None and len(names) != len(ports):
            raise VerificationError(f"the ONNX model has no {kind} {port.name!r} (it has {names})")
        out[port.name] = found or names[i]
    return out
