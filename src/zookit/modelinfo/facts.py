"""What `zoo inspect` says of a model, whatever its format: ``ModelInfo`` (its ``--json`` document) and
the ``TensorInfo`` of each input and output, with the helpers every format's reader shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from zookit.trimpoints import TrimPoint


@dataclass(frozen=True)
class TensorInfo:
    """An input or output: its name as a recipe writes it, shape (-1: open; None: unknown), dtype."""

    name: str
    shape: list[int] | None
    dtype: str
    quantization: dict[str, Any] | None = None  # TFLite: scale and zero point of a quantized tensor


@dataclass
class ModelInfo:
    """What `zoo inspect` prints; ``as_dict`` is its ``--json`` document."""

    path: str
    format: str  # a recipe's model.format
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    operators: dict[str, int]  # operator type -> count, most frequent first
    trim_points: list[TrimPoint] = field(default_factory=list)
    signature: str | None = None  # tf-saved-model: the signature read
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. a TFLite post-process op's options
    notes: list[str] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        return sum(self.operators.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes"] = self.nodes
        return data


def display_tensor(tensor: str) -> str:
    """A TF tensor as recipes write it: 'node' for output 0, 'node:1' for the others."""
    return tensor[:-2] if tensor.endswith(":0") else tensor


def operator_counts(ops: Iterable[str]) -> dict[str, int]:
    """Operator type -> count, most frequent first (ties by name)."""
    return dict(sorted(Counter(ops).items(), key=lambda kv: (-kv[1], kv[0])))
