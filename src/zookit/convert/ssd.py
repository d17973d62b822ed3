"""SSD detectors in TF: the TFLite post-process rewrite and its anchors.

TF OD API SSD (SSD-MobileNet): the trimmed graph's raw heads get the names TFLite expects
(``raw_outputs/box_encodings``, ``raw_outputs/class_predictions``), the anchors generated from the
recipe become a constant, and a ``TFLite_Detection_PostProcess`` node with the recipe's attributes
decodes and suppresses. When the source graph computes its own anchors, the generated ones must
equal them. ONNX SSD heads are in ``onnx_heads``; comparing detections is in ``zookit.verify.detections``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from zookit.convert.anchors import ssd_anchors, to_corners
from zookit.convert.trim import missing_tensor_error
from zookit.errors import ConversionError
from zookit.libs import load
from zookit.ports import POSTPROCESS_OP, node_name
from zookit.recipe import Recipe
from zookit.runtimes.tensorflow import tf_session_config

if TYPE_CHECKING:
    pass

BOX_ENCODINGS = "raw_outputs/box_encodings"
CLASS_PREDICTIONS = "raw_outputs/class_predictions"
ANCHORS = "anchors"
ANCHOR_TOLERANCE = 1e-5


def detection_section(recipe: Recipe) -> Any:
    if recipe.detection is None:
        raise ConversionError(f"{recipe.name}: the recipe has no detection section")
    return recipe.detection


def recipe_anchors(recipe: Recipe) -> np.ndarray:
    spec = detection_section(recipe).anchors
    if spec is None:
        raise ConversionError(f"{recipe.name}: detection.anchors is needed for the {POSTPROCESS_OP} op")
    return ssd_anchors(spec)


def check_graph_anchors(graph_def: Any, recipe: Recipe, anchors: np.ndarray, where: str) -> int:
    """Compare generated anchors with the tensor the source graph computes; return the anchor count.

    The graph's anchors depend on its feature-map shapes, so the graph is run once on a blank input
    of the recipe's shape. They are in corner form (ymin, xmin, ymax, xmax).
    """
    tf = load("tensorflow")

    det = detection_section(recipe)
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

    det = detection_section(recipe)
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
