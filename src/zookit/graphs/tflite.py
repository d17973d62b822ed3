"""A TFLite flatbuffer read: its first subgraph's operators, tensor names, shapes and small constants,
checked against hostile files (names, ranks, indices), and as a ``Graph``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import ZooError
from zookit.graphs.view import Graph, Node, Tensor

SMALL_CONSTANT = 1 << 16  # TFLite constants read into memory: parameters, not weights


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
