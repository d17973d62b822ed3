"""zookit's own SSD post-process on a TFLite model's raw heads: the anchors zookit generates from the
recipe (``convert.anchors``) become a float constant and a ``TFLite_Detection_PostProcess`` op with the
recipe's options decodes and suppresses, written straight into the flatbuffer (the heads keep their
types: TFLite's kernel dequantizes uint8 box encodings and scores itself, and then reads the anchors as
uint8 too, so beside uint8 heads they are stored as uint8 with zero point 0 and scale max/255).

When the source file has its own post-process, its anchors constant is the check: zookit's anchors must
equal it within half a quantization step of the file's anchors (exactly, when the file stores them as
float).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zookit.convert.anchors import ssd_anchors
from zookit.convert.tflite_trim import _index, load_model, pack, postprocess_facts, tensor_names
from zookit.errors import ConversionError
from zookit.ports import POSTPROCESS_OP
from zookit.recipe import Recipe

FLOAT_ANCHOR_TOLERANCE = 1e-5


def postprocess_options(recipe: Recipe) -> dict[str, Any]:
    """The op's custom options as the recipe's detection section sets them."""
    det = recipe.detection
    assert det is not None
    pp, coder = det.postprocess, det.box_coder
    return {
        "max_detections": pp.max_detections,
        "max_classes_per_detection": pp.max_classes_per_detection,
        "detections_per_class": pp.detections_per_class,
        "use_regular_nms": pp.use_regular_nms,
        "nms_score_threshold": float(pp.score_threshold),
        "nms_iou_threshold": float(pp.iou_threshold),
        "num_classes": det.num_classes,
        "y_scale": float(coder.y_scale),
        "x_scale": float(coder.x_scale),
        "h_scale": float(coder.h_scale),
        "w_scale": float(coder.w_scale),
    }


def _flexbuffer(options: dict[str, Any]) -> bytes:
    from flatbuffers import flexbuffers

    fbb = flexbuffers.Builder()
    with fbb.Map():
        for key, value in options.items():
            if isinstance(value, bool):
                fbb.Bool(key, value)
            elif isinstance(value, int):
                fbb.Int(key, value)
            else:
                fbb.Float(key, float(value))
    return bytes(fbb.Finish())


def attach_postprocess(heads: bytes, recipe: Recipe, anchors: np.ndarray, where: str) -> bytes:
    """The heads model with zookit's anchors and post-process op; its outputs are the op's four."""
    from ai_edge_litert import schema_py_generated as s

    det = recipe.detection
    if det is None or not (det.heads.box_encodings and det.heads.class_predictions):
        raise ConversionError(f"{where}: detection.heads.box_encodings and class_predictions are needed")
    model = load_model(heads, where)
    graph = model.subgraphs[0]
    names = tensor_names(graph)
    box = _index(names, det.heads.box_encodings, where, "detection.heads.box_encodings")
    scores = _index(names, det.heads.class_predictions, where, "detection.heads.class_predictions")
    boxes = int(graph.tensors[box].shape[1])
    if boxes != len(anchors):
        raise ConversionError(
            f"{where}: detection.anchors: {len(anchors)} anchors for {boxes} box encodings; "
            "check feature_map_sizes, aspect_ratios and reduce_boxes_in_lowest_layer"
        )
    quantized = graph.tensors[box].type == s.TensorType.UINT8
    buffer = s.BufferT()
    codes, step = _anchor_codes(anchors) if quantized else (anchors.astype(np.float32), 0.0)
    buffer.data = np.frombuffer(codes.tobytes(), np.uint8)
    model.buffers.append(buffer)

    def tensor(name: str, shape: list[int], buffer_index: int = 0) -> int:
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), shape, s.TensorType.FLOAT32, buffer_index
        graph.tensors.append(t)
        return len(graph.tensors) - 1

    anchor_name = "anchors" if "anchors" not in names else "zookit_anchors"
    anchor = tensor(anchor_name, [len(anchors), 4], len(model.buffers) - 1)
    if quantized:  # the kernel dequantizes the anchors as it does uint8 box encodings: they must be uint8 too
        t = graph.tensors[anchor]
        t.type = s.TensorType.UINT8
        t.quantization = s.QuantizationParametersT()
        t.quantization.scale, t.quantization.zeroPoint = [step], [0]
    k = det.postprocess.max_detections * det.postprocess.max_classes_per_detection
    shapes = [[1, k, 4], [1, k], [1, k], [1]]
    outputs = [tensor(POSTPROCESS_OP + (f":{i}" if i else ""), shape) for i, shape in enumerate(shapes)]
    code = s.OperatorCodeT()
    code.customCode, code.builtinCode, code.deprecatedBuiltinCode, code.version = (
        POSTPROCESS_OP.encode(),
        s.BuiltinOperator.CUSTOM,
        s.BuiltinOperator.CUSTOM,
        1,
    )
    model.operatorCodes.append(code)
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = len(model.operatorCodes) - 1, [box, scores, anchor], outputs
    op.customOptions = list(_flexbuffer(postprocess_options(recipe)))
    op.customOptionsFormat = s.CustomOptionsFormat.FLEXBUFFERS
    graph.operators.append(op)
    graph.outputs = outputs
    return pack(model)


def _anchor_codes(anchors: np.ndarray) -> tuple[np.ndarray, float]:
    """uint8 anchors (zero point 0, scale max/255: TFLite's kernel reads uint8 anchors beside uint8 box
    encodings, and TOCO quantized Google's own the same way)."""
    step = float(anchors.max()) / 255.0
    return np.clip(np.round(anchors / step), 0, 255).astype(np.uint8), step


def recipe_anchors(recipe: Recipe) -> np.ndarray:
    det = recipe.detection
    if det is None or det.anchors is None:
        raise ConversionError(f"{recipe.name}: detection.anchors is needed for the {POSTPROCESS_OP} op")
    return ssd_anchors(det.anchors)


def check_file_anchors(whole: bytes, anchors: np.ndarray, where: str) -> dict[str, Any]:
    """zookit's anchors against the source file's own anchors constant: the largest difference, and the
    limit it is held to (half a quantization step of the file's anchors, or FLOAT_ANCHOR_TOLERANCE)."""
    facts = postprocess_facts(whole, where)
    if facts is None or facts.anchors is None:
        return {"checked": False, "why": f"the source has no {POSTPROCESS_OP} with a constant anchors tensor"}
    if facts.anchors.shape != anchors.shape:
        raise ConversionError(
            f"{where}: detection.anchors: zookit generates {len(anchors)} anchors, the file's "
            f"{facts.anchors_tensor} holds {len(facts.anchors)}; check feature_map_sizes and aspect_ratios"
        )
    model = load_model(whole, where)
    graph = model.subgraphs[0]
    quant = graph.tensors[tensor_names(graph).index(facts.anchors_tensor)].quantization
    step = (
        float(quant.scale[0]) if quant is not None and quant.scale is not None and len(quant.scale) else 0.0
    )
    limit = step / 2 + 1e-6 if step else FLOAT_ANCHOR_TOLERANCE
    difference = np.abs(anchors.astype(np.float64) - facts.anchors)
    worst = float(difference.max())
    if worst > limit:
        row = int(np.argmax(difference.max(axis=1)))
        raise ConversionError(
            f"{where}: detection.anchors: zookit's anchors differ from the file's {facts.anchors_tensor} by up "
            f"to {worst:.3g} (limit {limit:.3g}; first at anchor {row}: zookit {anchors[row].round(4).tolist()}, "
            f"file {facts.anchors[row].round(4).tolist()}); check the anchor parameters"
        )
    return {
        "checked": True,
        "tensor": facts.anchors_tensor,
        "count": len(anchors),
        "largest_difference": float(f"{worst:.4g}"),
        "limit": float(f"{limit:.4g}"),
        "file_quantization_step": step or None,
    }
