"""The tensors a model is cut at and run through, shared by conversion, verification and the data
modules (which all import from here, never from each other): a port (name, shape, dtype), tensor-name
helpers, the recipe's declared ports and the ports of the TFLite detection post-process op."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from zookit.errors import ConversionError
from zookit.recipe import Recipe

POSTPROCESS_OP = "TFLite_Detection_PostProcess"
# The TF OD API adds 1 to class indices in detection_classes (label_id_offset); the TFLite op does not.
TF_OD_API_LABEL_OFFSET = 1


@dataclass(frozen=True)
class Port:
    """A tensor of the trimmed model: name (without ':0'), shape and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def node_name(tensor: str) -> str:
    """'scope/op:0' -> 'scope/op' (and '^ctrl' -> 'ctrl')."""
    name = tensor.lstrip("^")
    head, _, tail = name.rpartition(":")
    return head if head and tail.isdigit() else name


def onnx_tensor_name(name: str, known: Iterable[str]) -> str | None:
    """The name under which ``name`` appears in an ONNX graph: as is, or with tf2onnx's ':0'."""
    for candidate in (name, f"{name}:0"):
        if candidate in known:
            return candidate
    return None


def declared_ports(recipe: Recipe) -> tuple[list[Port], list[Port]]:
    """The recipe's own inputs and outputs (an untrimmed model's: an SSD's picture and detections)."""
    picture = [Port(node_name(s.name), tuple(s.shape), s.dtype) for s in recipe.inputs]
    # an output 'op:1' keeps its index (a TFLite op's second output); 'op:0' is 'op'
    declared = [Port(_output_name(s.name), tuple(s.shape), s.dtype) for s in recipe.outputs]
    return picture, declared


def _output_name(tensor: str) -> str:
    return tensor[:-2] if tensor.endswith(":0") else tensor


def postprocess_outputs(recipe: Recipe) -> list[Port]:
    """The four outputs of the TFLite detection post-process op the recipe's detection section sets."""
    if recipe.detection is None:
        raise ConversionError(f"{recipe.name}: the recipe has no detection section")
    k = recipe.detection.postprocess.max_detections
    return [
        Port(POSTPROCESS_OP, (1, k, 4), "float32"),
        Port(f"{POSTPROCESS_OP}:1", (1, k), "float32"),
        Port(f"{POSTPROCESS_OP}:2", (1, k), "float32"),
        Port(f"{POSTPROCESS_OP}:3", (1,), "float32"),
    ]
