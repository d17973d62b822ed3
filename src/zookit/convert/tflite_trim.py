"""TFLite graphs cut and read: a flatbuffer trimmed at named tensors, and the facts of a
``TFLite_Detection_PostProcess`` op (its options and its anchors constant).

``trim_tflite`` keeps the operators that feed the named outputs, stopping at the named interior inputs
(which become graph inputs, their quantization kept); tensors, buffers and operator codes no longer used
are dropped and the rest renumbered. Every kept tensor keeps its type, shape and quantization, so a cut
uint8 model stays the same uint8 model up to the cut. Signature definitions and metadata name indices of
the old graph and are dropped.

``postprocess_facts`` reads the op's custom options (a flexbuffer map: max_detections, nms thresholds,
num_classes, the box coder's scales, use_regular_nms ...), the tensors that feed it and its anchors
(dequantized when the file stores them quantized, as Google's quantized SSD-MobileNet does), and the
output shapes the op gives ([1,D,4], [1,D], [1,D], [1] with D = max_detections x
max_classes_per_detection): TOCO's files leave those shapes empty.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zookit.errors import ConversionError
from zookit.ports import POSTPROCESS_OP

POSTPROCESS_DEFAULTS: dict[str, Any] = {  # TFLite's kernel defaults (detection_postprocess.cc)
    "max_classes_per_detection": 1,
    "detections_per_class": 100,
    "use_regular_nms": False,
}


def _schema() -> Any:
    from ai_edge_litert import schema_py_generated as schema

    return schema


def load_model(data: bytes, where: str) -> Any:
    """The flatbuffer as the schema's object API (ModelT), refusing what is not a one-graph TFLite file."""
    schema = _schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ConversionError(f"{where}: not a TFLite model (no TFL3 file identifier)")
    try:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    except Exception as exc:  # flatbuffers raises struct and index errors on garbage
        raise ConversionError(f"{where}: not a readable TFLite model ({exc})") from None
    if not model.subgraphs:
        raise ConversionError(f"{where}: the TFLite model has no subgraph")
    return model


def pack(model: Any) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tensor_names(graph: Any) -> list[str]:
    return [t.name.decode() if isinstance(t.name, bytes) else str(t.name) for t in graph.tensors]


def _index(names: list[str], name: str, where: str, field_name: str) -> int:
    if name in names:
        return names.index(name)
    if f"{name}:0" in names:  # the ":0" of a first output is often left off
        return names.index(f"{name}:0")
    import difflib

    near = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise ConversionError(f"{where}: {field_name}: the TFLite model has no tensor {name!r}{hint}")


def op_name(model: Any, op: Any) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    if code.customCode:
        return str(code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode)
    schema = _schema()
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return str(names.get(builtin, builtin))


def trim_tflite(
    data: bytes,
    outputs: list[str],
    inputs: list[str] | None,
    where: str,
    renames: dict[str, str] | None = None,
) -> bytes:
    """The model cut to produce ``outputs`` from ``inputs`` (tensor names; None: the model's own inputs).
    An interior input is where the kept graph starts: what made it is dropped. ``renames`` gives kept
    tensors new names (a recipe's trim.inputs ``name``)."""
    model = load_model(data, where)
    graph = model.subgraphs[0]
    names = tensor_names(graph)
    out_ids = [_index(names, n, where, "trim.outputs") for n in outputs]
    given = inputs is not None
    in_ids = [_index(names, n, where, "trim.inputs") for n in inputs] if inputs is not None else []
    producers = {int(t): i for i, op in enumerate(graph.operators) for t in _ints(op.outputs)}
    stop = set(in_ids) if given else set()
    keep_ops: set[int] = set()
    reached: set[int] = set()
    queue = deque(out_ids)
    while queue:
        t = queue.popleft()
        if t in reached:
            continue
        reached.add(t)
        if t in stop or t not in producers:
            continue
        i = producers[t]
        if i not in keep_ops:
            keep_ops.add(i)
            queue.extend(int(x) for x in _ints(graph.operators[i].inputs) if x >= 0)
            queue.extend(int(x) for x in _ints(graph.operators[i].intermediates) if x >= 0)
    graph_inputs = in_ids if given else [int(t) for t in _ints(graph.inputs) if int(t) in reached]
    for t in graph_inputs:
        if t not in reached:
            raise ConversionError(
                f"{where}: trim.inputs: {names[t]!r} does not feed the outputs {', '.join(outputs)}"
            )
    loose = sorted(
        t
        for t in reached
        if t not in producers or t in stop
        if t not in graph_inputs and not _is_constant(model, graph.tensors[t])
    )
    if loose:
        raise ConversionError(
            f"{where}: trim.inputs: the outputs also need {', '.join(names[t] for t in loose)}; "
            "name them as inputs too"
        )
    for old, new in (renames or {}).items():
        graph.tensors[_index(names, old, where, "trim.inputs")].name = new.encode()
    return pack(_rebuilt(model, sorted(keep_ops), sorted(reached), graph_inputs, out_ids))


def _ints(values: Any) -> list[int]:
    """A flatbuffer index vector (None, a list or a numpy array) as ints."""
    return [] if values is None else [int(v) for v in values]


def _is_constant(model: Any, tensor: Any) -> bool:
    buffer = model.buffers[tensor.buffer] if 0 < tensor.buffer < len(model.buffers) else None
    return buffer is not None and buffer.data is not None and len(buffer.data) > 0


def _rebuilt(model: Any, ops: list[int], tensors: list[int], inputs: list[int], outputs: list[int]) -> Any:
    """The model with only ``ops`` and ``tensors`` (old indices), renumbered; unused buffers and operator
    codes dropped."""
    schema = _schema()
    graph = model.subgraphs[0]
    new_tensor = {old: new for new, old in enumerate(tensors)}
    buffers = [schema.BufferT()]  # buffer 0: the empty sentinel every TFLite model starts with
    new_buffer: dict[int, int] = {0: 0}
    kept = []
    for old in tensors:
        t = graph.tensors[old]
        if t.buffer not in new_buffer:
            new_buffer[t.buffer] = len(buffers)
            buffers.append(model.buffers[t.buffer])
        t.buffer = new_buffer[t.buffer]
        kept.append(t)
    codes: list[Any] = []
    new_code: dict[int, int] = {}
    operators = []
    for i in ops:
        op = graph.operators[i]
        if op.opcodeIndex not in new_code:
            new_code[op.opcodeIndex] = len(codes)
            codes.append(model.operatorCodes[op.opcodeIndex])
        op.opcodeIndex = new_code[op.opcodeIndex]
        op.inputs = [new_tensor[int(t)] if t >= 0 else -1 for t in _ints(op.inputs)]
        op.outputs = [new_tensor[int(t)] for t in _ints(op.outputs)]
        if op.intermediates is not None and len(op.intermediates):
            op.intermediates = [new_tensor[int(t)] for t in op.intermediates]
        operators.append(op)
    graph.tensors, graph.operators = kept, operators
    graph.inputs = [new_tensor[t] for t in inputs]
    graph.outputs = [new_tensor[t] for t in outputs]
    model.subgraphs = [graph]
    model.buffers, model.operatorCodes = buffers, codes
    model.signatureDefs, model.metadata, model.metadataBuffer = None, None, None
    return model


# --- the post-process op's facts -------------------------------------------------------------------


@dataclass
class PostprocessFacts:
    """What a TFLite_Detection_PostProcess op says: its options, the tensors feeding it, its anchors."""

    options: dict[str, Any]
    box_encodings: str
    class_predictions: str
    anchors_tensor: str
    anchors: np.ndarray | None  # [N,4] (ycenter, xcenter, h, w), dequantized; None: not a constant
    outputs: list[str] = field(default_factory=list)
    output_shapes: list[list[int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "options": self.options,
            "box_encodings": self.box_encodings,
            "class_predictions": self.class_predictions,
            "anchors_tensor": self.anchors_tensor,
            "anchors": None if self.anchors is None else list(self.anchors.shape),
            "outputs": dict(zip(self.outputs, self.output_shapes, strict=True)),
        }


def decode_options(raw: Any) -> dict[str, Any]:
    """A custom op's flexbuffer map as plain values (TFLite's defaults for the keys it leaves out)."""
    from flatbuffers import flexbuffers

    if raw is None or len(raw) == 0:
        return dict(POSTPROCESS_DEFAULTS)
    try:
        values = flexbuffers.Loads(bytes(bytearray(raw)))
    except Exception as exc:  # a damaged flexbuffer raises IndexError, struct.error ...
        raise ConversionError(f"the {POSTPROCESS_OP} options are not a readable flexbuffer ({exc})") from None
    if not isinstance(values, dict):
        raise ConversionError(f"the {POSTPROCESS_OP} options are not a flexbuffer map")
    plain = {k: (float(v) if isinstance(v, float) else v) for k, v in values.items()}
    return {**POSTPROCESS_DEFAULTS, **plain}


def constant_value(model: Any, tensor: Any) -> np.ndarray | None:
    """A constant tensor's values as float (dequantized with its scale and zero point when quantized)."""
    if not _is_constant(model, tensor):
        return None
    schema = _schema()
    dtypes = {
        schema.TensorType.FLOAT32: np.float32,
        schema.TensorType.UINT8: np.uint8,
        schema.TensorType.INT8: np.int8,
        schema.TensorType.INT32: np.int32,
    }
    dtype = dtypes.get(tensor.type)
    if dtype is None:
        return None
    raw = np.frombuffer(np.asarray(model.buffers[tensor.buffer].data, np.uint8).tobytes(), dtype)
    values = raw.reshape([int(d) for d in tensor.shape]).astype(np.float64)
    q = tensor.quantization
    if q is not None and q.scale is not None and len(q.scale) == 1:
        values = (values - float(q.zeroPoint[0])) * float(q.scale[0])
    return values


def postprocess_facts(data: bytes, where: str) -> PostprocessFacts | None:
    """The facts of the model's TFLite_Detection_PostProcess op; None when it has none."""
    model = load_model(data, where)
    graph = model.subgraphs[0]
    names = tensor_names(graph)
    for op in graph.operators:
        if op_name(model, op) != POSTPROCESS_OP:
            continue
        ins = [int(t) for t in _ints(op.inputs)]
        if len(ins) != 3:
            raise ConversionError(f"{where}: {POSTPROCESS_OP} has {len(ins)} inputs, not 3")
        options = decode_options(op.customOptions)
        count = int(options.get("max_detections", 0)) * int(options.get("max_classes_per_detection", 1))
        outs = [int(t) for t in _ints(op.outputs)]
        return PostprocessFacts(
            options,
            names[ins[0]],
            names[ins[1]],
            names[ins[2]],
            constant_value(model, graph.tensors[ins[2]]),
            [names[t] for t in outs],
            [[1, count, 4], [1, count], [1, count], [1]][: len(outs)],
        )
    return None
