"""ONNX SSD heads (ResNet34-SSD1200): found by structure, not by name.

Two Concat nodes, each gathering one Conv per feature map through shape-only ops (Reshape, Transpose,
Flatten...). The Concat whose heads have 4 channels per prior holds the box heads. Names in the recipe
are checked against what was found, and the priors the recipe declares against the heads' sizes. The
model is cut after the twelve convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zookit.convert import ssd
from zookit.convert.anchors import prior_count, priors_per_cell
from zookit.errors import ConversionError
from zookit.recipe import Recipe

if TYPE_CHECKING:
    import onnx

SHAPE_ONLY = {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity"}


@dataclass(frozen=True)
class Head:
    node: str  # the Conv node's name ('' when unnamed)
    tensor: str  # its output tensor
    channels: int
    height: int
    width: int

    @property
    def name(self) -> str:
        """The name zookit gives the head's output in the cut model: the node's, when it has one."""
        return self.node or self.tensor


@dataclass(frozen=True)
class Heads:
    boxes: list[Head]
    classes: list[Head]
    total_boxes: int  # boxes the box Concat gathers
    classes_per_prior: int


def discover_heads(model: onnx.ModelProto, recipe: Recipe, where: str) -> Heads:
    """Find the box and class heads of a shape-inferred ONNX SSD and check them against the recipe."""
    producers = {o: n for n in model.graph.node for o in n.output}
    shapes = _shapes(model)
    groups = []
    for node in model.graph.node:
        if node.op_type != "Concat" or len(node.input) < 2:
            continue
        convs = [_conv_behind(t, producers) for t in node.input]
        if all(c is not None for c in convs):
            groups.append((node, convs))
    if len(groups) != 2 or len(groups[0][1]) != len(groups[1][1]):
        seen = [f"{n.name or n.output[0]} ({len(c)} convolutions)" for n, c in groups]
        raise ConversionError(
            f"{where}: cannot find the SSD heads: expected two Concat nodes gathering one convolution per "
            f"feature map each, found {seen or 'none'}"
        )
    heads = [[_head(c, shapes, where) for c in convs] for _, convs in groups]
    order = _box_group_first(heads, where)
    (box_concat, _), _ = groups[order[0]], groups[order[1]]
    boxes, classes = heads[order[0]], heads[order[1]]
    per_prior = classes[0].channels // (boxes[0].channels // 4)
    total = _concat_length(box_concat, shapes, sum(h.channels // 4 * h.height * h.width for h in boxes))
    found = Heads(boxes, classes, total, per_prior)
    _check_names(recipe, found, where)
    return found


def _conv_behind(tensor: str, producers: dict[str, Any]) -> Any:
    node = producers.get(tensor)
    walked: set[int] = set()  # a cyclic graph must not loop
    while node is not None and node.op_type in SHAPE_ONLY and node.input and id(node) not in walked:
        walked.add(id(node))
        node = producers.get(node.input[0])
    return node if node is not None and node.op_type == "Conv" else None


def _shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    out = {}
    for value in list(model.graph.value_info) + list(model.graph.output) + list(model.graph.input):
        dims = value.type.tensor_type.shape.dim
        out[value.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]
    return out


def _head(conv: Any, shapes: dict[str, list[int]], where: str) -> Head:
    shape = shapes.get(conv.output[0])
    if not shape or len(shape) != 4 or min(shape) <= 0:
        raise ConversionError(
            f"{where}: head convolution {conv.name or conv.output[0]} has no static NCHW shape "
            f"({shape}); give the input a static shape"
        )
    return Head(conv.name, conv.output[0], shape[1], shape[2], shape[3])


def _box_group_first(heads: list[list[Head]], where: str) -> tuple[int, int]:
    """(box group, class group): box heads have 4 channels per prior, class heads C per prior."""
    for box, cls in ((0, 1), (1, 0)):
        ok = all(b.channels % 4 == 0 for b in heads[box])
        ratios = (
            {c.channels * 4 / b.channels for b, c in zip(heads[box], heads[cls], strict=True)}
            if ok
            else set()
        )
        if ok and len(ratios) == 1 and next(iter(ratios)).is_integer():
            return box, cls
    raise ConversionError(
        f"{where}: the two head groups do not pair up as 4 box values and C class scores per prior: "
        f"channels {[h.channels for h in heads[0]]} and {[h.channels for h in heads[1]]}"
    )


def _concat_length(concat: Any, shapes: dict[str, list[int]], fallback: int) -> int:
    shape = shapes.get(concat.output[0])
    if shape and all(d > 0 for d in shape):
        return max(d for d in shape if d != 4 and d != 1) if len(shape) > 1 else shape[0]
    return fallback


def _check_names(recipe: Recipe, heads: Heads, where: str) -> None:
    given = ssd.detection_section(recipe).heads
    for key, names, found in (
        ("box_inputs", given.box_inputs, heads.boxes),
        ("class_inputs", given.class_inputs, heads.classes),
    ):
        if not names:
            continue
        actual = [h.name for h in found]
        if len(names) != len(found):
            raise ConversionError(
                f"{where}: detection.heads.{key}: the recipe names {len(names)} heads, the graph has "
                f"{len(found)}: {actual}"
            )
        for i, (name, head) in enumerate(zip(names, found, strict=True)):
            if name not in (head.node, head.tensor):
                raise ConversionError(
                    f"{where}: detection.heads.{key}[{i}]: {name!r} is not the graph's head {i + 1}; "
                    f"the heads found by structure are {actual}"
                )


def check_priors(recipe: Recipe, heads: Heads, where: str) -> list[int]:
    """The prior specification must fit the heads; returns the priors per head."""
    det = ssd.detection_section(recipe)
    priors = det.priors
    problems = []
    if len(priors) != len(heads.boxes):
        raise ConversionError(
            f"{where}: detection.priors: {len(priors)} prior layers for {len(heads.boxes)} heads"
        )
    classes = det.num_classes + (1 if det.score_converter == "softmax" else 0)
    if heads.classes_per_prior != classes:
        problems.append(
            f"detection.num_classes: the class heads give {heads.classes_per_prior} scores per prior, "
            f"the recipe implies {classes}"
        )
    sizes = [(h.height, h.width) for h in heads.boxes]
    counts = prior_count(priors, sizes)
    for i, (prior, box, cls) in enumerate(zip(priors, heads.boxes, heads.classes, strict=True)):
        k = priors_per_cell(prior)
        if box.channels != 4 * k:
            problems.append(
                f"detection.priors[{i}]: {k} priors per cell need {4 * k} box channels, head {box.name} has {box.channels}"
            )
        if cls.channels != classes * k:
            problems.append(
                f"detection.priors[{i}]: {k} priors per cell need {classes * k} class channels, "
                f"head {cls.name} has {cls.channels}"
            )
        if prior.feature_map_size is not None and (prior.feature_map_size, prior.feature_map_size) != (
            box.height,
            box.width,
        ):
            problems.append(
                f"detection.priors[{i}].feature_map_size: {prior.feature_map_size}, the head's map is {box.height}x{box.width}"
            )
    if sum(counts) != heads.total_boxes:
        problems.append(
            f"detection.priors: the priors imply {sum(counts)} boxes ({' + '.join(map(str, counts))}), "
            f"the heads produce {heads.total_boxes}"
        )
    if problems:
        raise ConversionError(f"{where}: the prior boxes do not fit the model: " + "; ".join(problems))
    return counts


def rename_heads(model: onnx.ModelProto, heads: Heads) -> onnx.ModelProto:
    """A copy where each head's output tensor carries its node's name (the name TIDL's prototxt uses)."""
    import onnx

    copy: onnx.ModelProto = onnx.ModelProto.FromString(model.SerializeToString())
    renames = {h.tensor: h.name for h in heads.boxes + heads.classes if h.tensor != h.name}
    for node in copy.graph.node:
        for items in (node.input, node.output):
            for j, name in enumerate(items):
                if name in renames:
                    items[j] = renames[name]
    for value in list(copy.graph.value_info) + list(copy.graph.output):
        if value.name in renames:
            value.name = renames[value.name]
    return copy
