"""The view itself: a graph of nodes (an operator, its input and output tensors, its attributes) and the
tensors between them, the same for an ONNX and a TFLite model.

Axes are named as TIDL's operator table names them (``Graph.named_axis``). TIDL works in NCHW and names
axes as ONNX sees them (-1 width, -2 height, -3 channels); a TFLite model is NHWC, and TIDL's importer
reads it as NCHW, so TI's "axis -3" is TFLite's last axis (evidence: docs/tidl_axes.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
