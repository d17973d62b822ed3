"""Run models: a TF graph in TensorFlow, a TFLite model in LiteRT, an ONNX model in onnxruntime.

Each runner takes and returns float-domain arrays keyed by tensor name (without ':0'): quantized
TFLite inputs and outputs are (de)quantized here with the model's own parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from zookit.errors import VerificationError
from zookit.libs import load, threads
from zookit.ports import Port, node_name, onnx_tensor_name
from zookit.recipe import Target
from zookit.reference import Runner


def tf_session_config() -> Any:
    """Sessions that run a source graph as it is: without Grappler's rewrites, which cost more (0.25 s
    on MobileNet's first run) than the few verification runs they would speed up, and would fuse ops
    the source graph keeps apart."""
    tf = load("tensorflow")

    n = threads()
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=n, inter_op_parallelism_threads=n)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


def tf_runner(graph_def: Any, inputs: list[Port], outputs: list[Port]) -> Runner:
    tf = load("tensorflow")

    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    session = tf.compat.v1.Session(graph=graph, config=tf_session_config())
    fetches = [f"{p.name}:0" for p in outputs]

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = session.run(fetches, {f"{k}:0": v for k, v in feed.items()})
        return {p.name: np.asarray(v) for p, v in zip(outputs, values, strict=True)}

    return run


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
            interpreter.set_tensor(detail["index"], _quantize(feed[port.name], detail))
        interpreter.invoke()
        return {
            p.name: _dequantize(interpreter.get_tensor(d["index"]), d)
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


def _quantize(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    dtype = detail["dtype"]
    if np.issubdtype(dtype, np.floating) or dtype == x.dtype:
        return x.astype(dtype)
    scale, zero = detail["quantization"]
    if not scale:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.asarray(np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype))


def _dequantize(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero = detail["quantization"]
    if np.issubdtype(y.dtype, np.integer) and scale:
        return np.asarray((y.astype(np.float32) - zero) * scale)
    return np.asarray(y)


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
                x = _quantize(x, boundary[name])
            ort_feed[name] = x.transpose(0, 3, 1, 2) if nchw and x.ndim == 4 else x
        values = session.run([out_map[p.name] for p in outputs], ort_feed)
        return {
            p.name: _dequantize(np.asarray(v), boundary[out_map[p.name]])
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


HostRunner = Callable[[bytes, list[Port], list[Port], Target], Runner]


def _run_tflite(model: bytes, inputs: list[Port], outputs: list[Port], target: Target) -> Runner:
    return tflite_runner(model, inputs, outputs)


def _run_onnx(model: bytes, inputs: list[Port], outputs: list[Port], target: Target) -> Runner:
    return onnx_runner(model, inputs, outputs, nchw=target.inputs_as_nchw)


# How a converted file of each target format runs on this machine (a format missing here is one no host
# runtime runs: its targets are checked by their own tool, not by running them here).
HOST_RUNNERS: dict[str, HostRunner] = {"tflite": _run_tflite, "onnx": _run_onnx}
