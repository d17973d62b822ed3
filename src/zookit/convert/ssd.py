"""SSD detectors: the TFLite post-process rewrite, head discovery in ONNX SSDs, prior checks, and
the comparison of two detectors' outputs.

TF OD API SSD (SSD-MobileNet): the trimmed graph's raw heads get the names TFLite expects
(``raw_outputs/box_encodings``, ``raw_outputs/class_predictions``), the anchors generated from the
recipe become a constant, and a ``TFLite_Detection_PostProcess`` node with the recipe's attributes
decodes and suppresses. When the source graph computes its own anchors, the generated ones must
equal them.

ONNX SSD (ResNet34-SSD1200): the heads are found by structure, not by name: two Concat nodes, each
gathering one Conv per feature map through shape-only ops (Reshape, Transpose, Flatten...). The
Concat whose heads have 4 channels per prior holds the box heads. Names in the recipe are checked
against what was found. The model is cut after the twelve convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from zookit.convert.anchors import prior_count, priors_per_cell, ssd_anchors, to_corners
from zookit.convert.trim import Port, missing_tensor_error, node_name
from zookit.errors import ConversionError
from zookit.libs import load
from zookit.recipe import Recipe
from zookit.verify.runners import tf_session_config

if TYPE_CHECKING:
    import onnx

POSTPROCESS_OP = "TFLite_Detection_PostProcess"
BOX_ENCODINGS = "raw_outputs/box_encodings"
CLASS_PREDICTIONS = "raw_outputs/class_predictions"
ANCHORS = "anchors"
# The TF OD API adds 1 to class indices in detection_classes (label_id_offset); the TFLite op does not.
TF_OD_API_LABEL_OFFSET = 1
ANCHOR_TOLERANCE = 1e-5


def postprocess_outputs(recipe: Recipe) -> list[Port]:
    k = _detection(recipe).postprocess.max_detections
    return [
        Port(POSTPROCESS_OP, (1, k, 4), "float32"),
        Port(f"{POSTPROCESS_OP}:1", (1, k), "float32"),
        Port(f"{POSTPROCESS_OP}:2", (1, k), "float32"),
        Port(f"{POSTPROCESS_OP}:3", (1,), "float32"),
    ]


def _detection(recipe: Recipe) -> Any:
    if recipe.detection is None:
        raise ConversionError(f"{recipe.name}: the recipe has no detection section")
    return recipe.detection


def recipe_anchors(recipe: Recipe) -> np.ndarray:
    spec = _detection(recipe).anchors
    if spec is None:
        raise ConversionError(f"{recipe.name}: detection.anchors is needed for the {POSTPROCESS_OP} op")
    return ssd_anchors(spec)


def check_graph_anchors(graph_def: Any, recipe: Recipe, anchors: np.ndarray, where: str) -> int:
    """Compare generated anchors with the tensor the source graph computes; return the anchor count.

    The graph's anchors depend on its feature-map shapes, so the graph is run once on a blank input
    of the recipe's shape. They are in corner form (ymin, xmin, ymax, xmax).
    """
    tf = load("tensorflow")

    det = _detection(recipe)
    tensor = det.anchors.graph_anchors if det.anchors else None
    if not tensor:
        return len(anchors)
    names = {n.name for n in graph_def.node}
    if node_name(tensor) not in names:
        raise missing_tensor_error(tensor, names, where, "detection.anchors.graph_anchors")
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    spec = recipe.inputs[0]
    feed = {f"{node_name(spec.name)}:0": np.zeros(spec.shape, spec.dtype)}
    fetch = tensor if ":" in tensor else f"{tensor}:0"
    with tf.compat.v1.Session(graph=graph, config=tf_session_config()) as session:
        computed = np.asarray(session.run(fetch, feed))
    if computed.shape != (len(anchors), 4):
        raise ConversionError(
            f"{where}: detection.anchors: the recipe's generator gives {len(anchors)} anchors, "
            f"the graph's {tensor} has shape {list(computed.shape)}; check feature_map_sizes and aspect_ratios"
        )
    worst = float(np.max(np.abs(to_corners(anchors) - computed)))
    if worst > ANCHOR_TOLERANCE:
        row = int(np.argmax(np.max(np.abs(to_corners(anchors) - computed), axis=1)))
        raise ConversionError(
            f"{where}: detection.anchors: generated anchors differ from the graph's {tensor} by up to "
            f"{worst:.3g} (first at anchor {row}: recipe {to_corners(anchors)[row].round(4).tolist()}, "
            f"graph {computed[row].round(4).tolist()}); check the anchor parameters"
        )
    return len(anchors)


def add_postprocess(graph_def: Any, recipe: Recipe, anchors: np.ndarray) -> Any:
    """A copy of the trimmed graph with the named raw outputs, the anchors and the post-process node."""
    tf = load("tensorflow")

    det = _detection(recipe)
    if not (det.heads.box_encodings and det.heads.class_predictions):
        raise ConversionError(
            f"{recipe.name}: detection.heads.box_encodings and class_predictions are needed for {POSTPROCESS_OP}"
        )
    out = tf.compat.v1.GraphDef()
    out.CopyFrom(graph_def)
    f32 = tf.float32.as_datatype_enum

    def add(name: str, op: str, inputs: list[str]) -> Any:
        node = out.node.add(name=name, op=op)
        node.input.extend(inputs)
        return node

    for name, source in (
        (BOX_ENCODINGS, det.heads.box_encodings),
        (CLASS_PREDICTIONS, det.heads.class_predictions),
    ):
        add(name, "Identity", [source]).attr["T"].type = f32
    const = add(ANCHORS, "Const", [])
    const.attr["dtype"].type = f32
    const.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(anchors.astype(np.float32)))
    node = add(POSTPROCESS_OP, POSTPROCESS_OP, [BOX_ENCODINGS, CLASS_PREDICTIONS, ANCHORS])
    pp, coder = det.postprocess, det.box_coder
    for key, value in {
        "max_detections": pp.max_detections,
        "max_classes_per_detection": pp.max_classes_per_detection,
        "detections_per_class": pp.detections_per_class,
        "num_classes": det.num_classes,
    }.items():
        node.attr[key].i = value
    for key, fvalue in {
        "nms_score_threshold": pp.score_threshold,
        "nms_iou_threshold": pp.iou_threshold,
        "y_scale": coder.y_scale,
        "x_scale": coder.x_scale,
        "h_scale": coder.h_scale,
        "w_scale": coder.w_scale,
    }.items():
        node.attr[key].f = fvalue
    node.attr["use_regular_nms"].b = pp.use_regular_nms
    node.attr["_output_quantized"].b = True
    node.attr["_output_types"].list.type.extend([f32] * 4)
    return out


# --- comparing detections ------------------------------------------------------------------------


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` [n,4] with every box in ``b`` [m,4], corner form."""
    y0 = np.maximum(a[:, None, 0], b[None, :, 0])
    x0 = np.maximum(a[:, None, 1], b[None, :, 1])
    y1 = np.minimum(a[:, None, 2], b[None, :, 2])
    x1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(y1 - y0, 0, None) * np.clip(x1 - x0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass
class DetectionMatch:
    considered: int = 0
    matched: int = 0
    min_iou: float = 1.0
    max_score_diff: float = 0.0
    missed: list[list[float]] = field(default_factory=list)  # source boxes without a match


def match_detections(
    expected: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    actual: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    min_iou: float,
    score_abs: float,
    into: DetectionMatch,
) -> None:
    """Match each expected detection to an actual one of the same class (boxes clipped to the image).

    Expected detections count only when their score clears the lowest score the actual model kept by
    more than ``score_abs`` (or the actual list is not full): below that, which boxes make the cut is
    decided by rounding, not by the model.
    """
    eb, es, ec, en = expected
    ab, as_, ac, an = actual
    eb, ab = np.clip(eb[:en], 0, 1), np.clip(ab[:an], 0, 1)
    es, ec, as_, ac = es[:en], ec[:en], as_[:an], ac[:an]
    full = an == len(actual[1])
    floor = (float(as_.min()) + score_abs) if full and an else -np.inf
    overlaps = iou(eb, ab) if en and an else np.zeros((en, an))
    used = np.zeros(an, bool)
    for i in np.argsort(-es):
        if es[i] <= floor:
            continue
        into.considered += 1
        candidates = np.where((ac == ec[i]) & ~used & (np.abs(as_ - es[i]) <= score_abs))[0]
        if candidates.size == 0:
            into.min_iou = 0.0
            into.missed.append([float(v) for v in eb[i]])
            continue
        best = candidates[np.argmax(overlaps[i, candidates])]
        into.min_iou = min(into.min_iou, float(overlaps[i, best]))
        into.max_score_diff = max(into.max_score_diff, float(abs(as_[best] - es[i])))
        if overlaps[i, best] >= min_iou:
            used[best] = True
            into.matched += 1
        else:
            into.missed.append([float(v) for v in eb[i]])


# --- ONNX SSD heads ------------------------------------------------------------------------------

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
    while node is not None and node.op_type in SHAPE_ONLY:
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
    given = _detection(recipe).heads
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
    det = _detection(recipe)
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
