"""One view of an ONNX or TFLite model for TIDL's operator rules: nodes with their input tensors
(shape, constant data), attributes (ONNX attributes, TFLite builtin options) and named axes.

TIDL works in NCHW. Its table names axes as ONNX sees them (-1 width, -2 height, -3 channels); a TFLite
model is NHWC, and TIDL's importer reads it as NCHW, so TI's "axis -3" is TFLite's last axis (evidence:
docs/tidl_axes.md). ``named_axis`` turns either framework's axis into the names TI's rules use.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import ZooError

ONNX_DEFAULT_DOMAINS = ("", "ai.onnx")
SMALL_CONSTANT = 1 << 16  # TFLite constants read into memory: parameters, not weights


@dataclass
class Tensor:
    name: str
    shape: list[int] | None  # None: not known from the file (-1 marks an unknown dimension)
    value: np.ndarray | None = None  # the data of a constant, when the file holds it
    constant: bool = False

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)


@dataclass
class Node:
    op: str  # ONNX op_type (domain-qualified outside the default domain) or TFLite operator name
    name: str  # the node's name (ONNX) or its first output tensor's name (TFLite)
    inputs: list[Tensor | None]  # None: an omitted optional input
    outputs: list[Tensor]
    attrs: dict[str, Any]
    custom: bool = False  # outside ONNX's default domain, or a TFLite custom op
    index: int = 0

    def input(self, i: int) -> Tensor | None:
        return self.inputs[i] if i < len(self.inputs) else None

    def variables(self) -> list[Tensor]:
        return [t for t in self.inputs if t is not None and not t.constant]

    def text(self, key: str, default: str) -> str:
        value = self.attrs.get(key, default)
        return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class Graph:
    framework: str  # "onnx" or "tflite"
    nodes: list[Node]
    inputs: set[str]
    outputs: set[str]
    opset: int = 0
    producers: dict[str, Node] = field(default_factory=dict)
    consumers: dict[str, list[Node]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node in self.nodes:
            for t in node.outputs:
                self.producers[t.name] = node
            for i in node.inputs:
                if i is not None:
                    self.consumers.setdefault(i.name, []).append(node)

    def producer_op(self, tensor: Tensor | None) -> str | None:
        node = self.producers.get(tensor.name) if tensor is not None else None
        return node.op if node else None

    def consumer_ops(self, tensor: Tensor) -> list[str]:
        return [n.op for n in self.consumers.get(tensor.name, [])]

    def named_axis(self, axis: int, rank: int) -> str:
        """'batch', 'channel', 'height', 'width' or 'other': an axis as TI's table names it."""
        if rank <= 0:
            return "other"
        a = axis if axis >= 0 else axis + rank
        if rank >= 2 and a == 0:
            return "batch"
        if self.framework == "onnx":  # NCHW: counted from the end
            return {rank - 1: "width", rank - 2: "height", rank - 3: "channel"}.get(a, "other")
        return {rank - 1: "channel", rank - 2: "width", rank - 3: "height"}.get(a, "other")  # NHWC


# --- ONNX ----------------------------------------------------------------------------------------


def load_onnx(path: Path) -> Any:
    """The model, refusing what is not an ONNX model (onnx.load accepts an empty or foreign file as an
    empty model)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ZooError(f"{path}: not a readable ONNX model ({exc})") from None
    if not model.graph.node or not model.opset_import:
        raise ZooError(f"{path}: not an ONNX model (no graph nodes or no opset)")
    return model


def initializer_value(tensor: Any, path: Path) -> np.ndarray:
    """An initializer's values; one kept in an external file is read only from inside the model's folder
    (ZooError naming the tensor and the file otherwise, or when it cannot be read)."""
    import onnx
    from onnx import numpy_helper

    where = ""
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        where = next((e.value for e in tensor.external_data if e.key == "location"), "")
        folder = path.parent.resolve()
        target = (folder / where).resolve()
        if not where or Path(where).is_absolute() or folder not in target.parents:
            raise ZooError(
                f"{path}: initializer {tensor.name!r} keeps its data in {where!r}, outside the model's folder "
                f"{folder}; zookit reads external data only from beside the model"
            )
    try:
        return numpy_helper.to_array(tensor, base_dir=str(path.parent))
    except Exception as exc:  # onnx raises ValidationError, OSError, ValueError on bad external data
        raise ZooError(
            f"{path}: cannot read initializer {tensor.name!r} ({where or 'in the file'}): {exc}"
        ) from None


def onnx_graph(path: Path) -> Graph:
    import onnx
    from onnx import numpy_helper

    model = load_onnx(path)
    with contextlib.suppress(Exception):  # shapes only help read axes; without them the rules skip
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    g = model.graph
    values: dict[str, np.ndarray] = {i.name: initializer_value(i, path) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    constants = set(values) | {o for n in g.node if n.op_type == "Constant" for o in n.output}
    shapes: dict[str, list[int]] = {name: list(v.shape) for name, v in values.items()}
    for v in list(g.value_info) + list(g.input) + list(g.output):
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            dims = v.type.tensor_type.shape.dim
            shapes[v.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]

    def tensor(name: str) -> Tensor | None:
        if not name:
            return None
        return Tensor(name, shapes.get(name), values.get(name), name in constants)

    nodes = []
    for index, n in enumerate(g.node):
        custom = n.domain not in ONNX_DEFAULT_DOMAINS
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        nodes.append(
            Node(
                f"{n.domain}.{n.op_type}" if custom else n.op_type,
                n.name or n.output[0],
                [tensor(i) for i in n.input],
                [t for t in (tensor(o) for o in n.output) if t is not None],
                attrs,
                custom,
                index,
            )
        )
    return Graph(
        "onnx",
        nodes,
        inputs={i.name for i in g.input} - {i.name for i in g.initializer},
        outputs={o.name for o in g.output},
        opset=next((o.version for o in model.opset_import if o.domain in ONNX_DEFAULT_DOMAINS), 13),
    )


# --- TFLite --------------------------------------------------------------------------------------


class HostileTflite(ValueError):
    """A TFLite flatbuffer that parses but describes no model: what is wrong, without the path."""


MAX_RANK = 16  # TFLite kernels take at most 6 dimensions; more is no model, only a way to exhaust memory


def read_tensors(
    model: Any, graph: Any, ops: list[TfliteOp], ports: set[int]
) -> tuple[list[str], list[list[int]]]:
    """Every tensor's name and shape, checked: each name UTF-8 text, each shape of at most MAX_RANK
    dimensions of -1 or more, each buffer and every tensor index an operator or the graph names in range.
    Raises HostileTflite (or a flatbuffers error on offsets out of the file) naming the first fault."""
    count, buffers = graph.TensorsLength(), model.BuffersLength()
    names, shapes = [], []
    for i in range(count):
        t = graph.Tensors(i)
        raw = t.Name()
        if not raw:
            raise HostileTflite(f"tensor #{i} has no name")
        try:
            name = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise HostileTflite(f"tensor #{i}'s name is not UTF-8 text ({bytes(raw)[:40]!r})") from None
        for what, length, dims in (
            ("shape", t.ShapeLength(), t.ShapeAsNumpy),
            ("shape signature", t.ShapeSignatureLength(), t.ShapeSignatureAsNumpy),
        ):
            if length > MAX_RANK:
                raise HostileTflite(
                    f"tensor {name!r} has a {what} of {length} dimensions (at most {MAX_RANK})"
                )
            values = [int(d) for d in dims()] if length else []
            if any(d < -1 for d in values):
                raise HostileTflite(f"tensor {name!r} has a negative size in its {what} {values}")
            if what == "shape":
                shapes.append(values)
        if not 0 <= t.Buffer() < max(buffers, 1):
            raise HostileTflite(f"tensor {name!r} names buffer {t.Buffer()}; the file has {buffers}")
        names.append(name)
    for op in ops:
        for index in op.inputs + op.outputs:
            if not -1 <= index < count:
                raise HostileTflite(
                    f"operator #{op.index} ({op.name}) names tensor {index}; the file has {count}"
                )
    for index in ports:
        if not 0 <= index < count:
            raise HostileTflite(f"the graph's inputs or outputs name tensor {index}; the file has {count}")
    return names, shapes


@dataclass
class TfliteOp:
    name: str
    custom: bool
    inputs: list[int]
    outputs: list[int]
    index: int


class TfliteModel:
    """The first subgraph of a TFLite flatbuffer: operators, tensor names, shapes and constant data."""

    def __init__(self, path: Path):
        from ai_edge_litert import schema_py_generated as schema

        data = path.read_bytes()
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ZooError(f"{path}: not a TFLite model (no TFL3 file identifier)")
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.ops: list[TfliteOp] = []
        self.options: list[dict[str, Any]] = []
        try:
            self.model = schema.Model.GetRootAsModel(data, 0)
            self.graph = self.model.Subgraphs(0)
            for i in range(self.graph.OperatorsLength()):
                op = schema.OperatorT.InitFromObj(self.graph.Operators(i))
                code = self.model.OperatorCodes(op.opcodeIndex)
                builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
                custom = code.CustomCode()
                name = custom.decode() if custom else names.get(builtin, str(builtin))
                inputs = [int(t) for t in op.inputs] if op.inputs is not None else []
                outputs = [int(t) for t in op.outputs] if op.outputs is not None else []
                self.ops.append(TfliteOp(name, bool(custom), inputs, outputs, i))
                self.options.append(dict(vars(op.builtinOptions)) if op.builtinOptions is not None else {})
            self.outputs = (
                {int(t) for t in self.graph.OutputsAsNumpy()} if self.graph.OutputsLength() else set()
            )
            self.inputs = {int(t) for t in self.graph.InputsAsNumpy()} if self.graph.InputsLength() else set()
            self._names, self._shapes = read_tensors(
                self.model, self.graph, self.ops, self.inputs | self.outputs
            )
        except HostileTflite as exc:
            raise ZooError(f"{path}: not a valid TFLite model: {exc}") from None
        except Exception as exc:  # flatbuffers raises struct and index errors on garbage
            raise ZooError(f"{path}: not a readable TFLite model ({exc})") from None
        self.producers = {t: op for op in self.ops for t in op.outputs}

    def name(self, tensor: int) -> str:
        return self._names[tensor]

    def shape(self, tensor: int) -> list[int]:
        return list(self._shapes[tensor])

    def constant(self, tensor: int) -> bool:
        if tensor < 0:
            return True
        buffer = self.graph.Tensors(tensor).Buffer()
        return bool(buffer) and self.model.Buffers(buffer).DataLength() > 0

    def value(self, tensor: int) -> np.ndarray | None:
        """A constant tensor's values, for the types rules read (int32/int64 axes, shapes, K; float data)."""
        if tensor < 0 or not self.constant(tensor):
            return None
        t = self.graph.Tensors(tensor)
        dtype = {0: np.float32, 2: np.int32, 4: np.int64, 9: np.int8, 3: np.uint8}.get(t.Type())
        if dtype is None:
            return None
        data = np.frombuffer(self.model.Buffers(t.Buffer()).DataAsNumpy().tobytes(), dtype)
        shape = self.shape(tensor)
        return data.reshape(shape) if shape and int(np.prod(shape)) == data.size else data

    def producer(self, tensor: int) -> TfliteOp | None:
        return self.producers.get(tensor)

    def tensor(self, index: int) -> Tensor | None:
        if index < 0:
            return None
        constant, shape = self.constant(index), self.shape(index)
        small = int(np.prod(shape)) <= SMALL_CONSTANT if shape else True  # axes, shapes, K: not weights
        return Tensor(self.name(index), shape, self.value(index) if constant and small else None, constant)

    def as_graph(self) -> Graph:
        nodes = []
        for op, options in zip(self.ops, self.options, strict=True):
            outputs = [t for t in (self.tensor(i) for i in op.outputs) if t is not None]
            name = outputs[0].name if outputs else op.name
            inputs = [self.tensor(i) for i in op.inputs]
            nodes.append(Node(op.name, name, inputs, outputs, options, op.custom, op.index))
        return Graph(
            "tflite",
            nodes,
            inputs={self.name(i) for i in self.inputs},
            outputs={self.name(i) for i in self.outputs},
        )
