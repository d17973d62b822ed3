"""The meta-architecture files of a TIDL package: TIDL's caffe_ssd prototxt for an ONNX SSD (meta_arch_type
3) and the TF OD API pipeline config with box/class inputs for a TFLite SSD (metaArchType 1 of the legacy
import tool). Every file is printed from a protobuf message and parsed back (``zookit.deploy.tidl.protos``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.deploy.tidl import protos, recipe_file
from zookit.deploy.tidl.check import POSTPROCESS_OP, postprocess_heads
from zookit.deploy.tidl.inputs import input_geometry, input_layout
from zookit.errors import ZooError
from zookit.graphs import TfliteModel, load_onnx
from zookit.recipe import Recipe
from zookit.records import Manifest

SCORE_CONVERTERS = {"sigmoid": "SIGMOID", "softmax": "SOFTMAX", "identity": "IDENTITY"}
BOX_CODES = {"center_size": "CENTER_SIZE", "corner": "CORNER"}


# TIDL's ONNX SSD route (models not from MMDetection): exactly these outputs, in this order.
ONNX_SSD_OUTPUTS = (("boxes", 1), ("labels", 7), ("scores", 1))  # (role, onnx elem_type: 1 float, 7 int64)


def caffe_ssd_prototxt(recipe: Recipe, manifest: Manifest, model: Path, where: str) -> str:
    """TIDL's caffe_ssd meta architecture for the packaged ONNX SSD. Its ``output`` list is read off the
    packaged graph (TIDL stops when the count differs from the graph's outputs), and the box and class
    inputs must be tensors of that graph."""
    det = recipe.detection
    assert det is not None
    heads = manifest.heads
    if not heads:
        raise ZooError(
            f"{where}: the converted model records no heads; run `zoo convert {recipe.name}` again"
        )
    outputs = _onnx_ssd_outputs(model, heads["box"] + heads["class"], recipe, where)
    width, height, _ = input_geometry(manifest, input_layout(recipe, manifest))
    pp = det.postprocess
    priors = [
        {
            "min_size": p.min_size,
            "max_size": p.max_size,
            "aspect_ratio": p.aspect_ratio,
            "flip": p.flip,
            "clip": p.clip,
            "variance": p.variance,
            "step": p.step,
            "offset": p.offset,
        }
        for p in det.priors
    ]
    classes = det.num_classes + (1 if det.score_converter == "softmax" else 0)
    content = {
        "name": recipe.name,
        "caffe_ssd": [
            {
                "name": "ssd",
                "box_input": heads["box"],
                "class_input": heads["class"],
                "output": outputs,
                "in_width": width,
                "in_height": height,
                "score_converter": SCORE_CONVERTERS[det.score_converter],
                "prior_box_param": priors,
                "detection_output_param": {
                    "num_classes": classes,
                    "share_location": True,
                    "background_label_id": det.background_label_id,
                    "nms_param": {
                        "nms_threshold": pp.iou_threshold,
                        "top_k": pp.top_k or pp.detections_per_class,
                    },
                    "code_type": BOX_CODES[det.box_code],
                    "keep_top_k": pp.keep_top_k or pp.max_detections,
                    "confidence_threshold": pp.score_threshold,
                },
                "data_layout": det.data_layout.upper(),
            }
        ],
    }
    text = protos.render("tidl_meta_arch", content, where)
    written = protos.parse("tidl_meta_arch", text, where).caffe_ssd[0]
    if list(written.output) != outputs:  # the rule TIDL_readMetaArchInfo enforces, checked here
        raise ZooError(f"{where}: the prototxt names outputs {list(written.output)}, the model has {outputs}")
    return text


def _onnx_ssd_outputs(model: Path, heads: list[str], recipe: Recipe, where: str) -> list[str]:
    graph = load_onnx(model).graph
    tensors = {o for n in graph.node for o in n.output}
    missing = [h for h in heads if h not in tensors]
    if missing:
        raise ZooError(f"{where}: box/class inputs {missing} are not tensors of {model.name}")
    found = [(o.name, o.type.tensor_type.elem_type) for o in graph.output]
    if [t for _, t in found] != [t for _, t in ONNX_SSD_OUTPUTS]:
        raise ZooError(
            f"{where}: TIDL's ONNX SSD meta architecture (meta_arch_type 3) needs the model with exactly three "
            f"outputs, boxes (float), labels (int64) and scores (float); {model.name} has {len(found)} "
            f"({', '.join(n for n, _ in found[:4])}{', ...' if len(found) > 4 else ''}). Set tidl.target of "
            f"{recipe_file(recipe)} to the ONNX target with postprocess: true"
        )
    return [name for name, _ in found]


def pipeline_config(recipe: Recipe, manifest: Manifest, model: Path, where: str) -> str:
    """The TF OD API pipeline config of a TFLite SSD in the field set of TI's bundled object_detection
    protos (TIDL's meta_arch_type 1), with box_input/class_input naming the head convolutions' outputs
    in the packaged TFLite model."""
    det = recipe.detection
    assert det is not None and det.anchors is not None
    heads = tflite_heads(model, where)
    width, height, _ = input_geometry(manifest, "NHWC")
    a, coder, pp = det.anchors, det.box_coder, det.postprocess
    generator: dict[str, Any] = {
        "num_layers": a.num_layers,
        "min_scale": a.min_scale,
        "max_scale": a.max_scale,
        "aspect_ratios": a.aspect_ratios,
    }
    if a.interpolated_scale_aspect_ratio != 1.0:  # written only when not the TF OD API default
        generator["interpolated_scale_aspect_ratio"] = a.interpolated_scale_aspect_ratio
    if not a.reduce_boxes_in_lowest_layer:
        generator["reduce_boxes_in_lowest_layer"] = False
    content = {
        "model": {
            "ssd": {
                "num_classes": det.num_classes,
                "box_input": heads[0],
                "class_input": heads[1],
                "image_resizer": {"fixed_shape_resizer": {"height": height, "width": width}},
                "box_coder": {
                    "faster_rcnn_box_coder": {
                        "y_scale": coder.y_scale,
                        "x_scale": coder.x_scale,
                        "height_scale": coder.h_scale,
                        "width_scale": coder.w_scale,
                    }
                },
                "anchor_generator": {"ssd_anchor_generator": generator},
                "post_processing": {
                    "batch_non_max_suppression": {
                        "score_threshold": pp.score_threshold,
                        "iou_threshold": pp.iou_threshold,
                        "max_detections_per_class": pp.detections_per_class,
                        "max_total_detections": pp.max_detections,
                    },
                    "score_converter": SCORE_CONVERTERS[det.score_converter],
                },
                "encode_background_as_zeros": det.score_converter == "sigmoid",
            }
        }
    }
    return protos.render("object_detection", content, where)


def tflite_heads(model: Path, where: str) -> tuple[list[str], list[str]]:
    """The box and class head convolutions' output tensors that feed the model's post-process op."""
    m = TfliteModel(model)
    ops = [op for op in m.ops if op.name == POSTPROCESS_OP]
    heads = postprocess_heads(m, ops[0]) if len(ops) == 1 else None
    if heads is None:
        raise ZooError(
            f"{where}: cannot name box_input/class_input: {model.name} has no {POSTPROCESS_OP} fed by head "
            "convolutions through Reshape -> Concat (class scores through Logistic/Softmax)"
        )
    return heads
