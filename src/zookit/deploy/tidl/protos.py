"""Protobuf schemas zookit writes text files in, built at run time from descriptors (no protoc step).

- ``tidl_meta_arch``: TI's meta-architecture file (``TIDLMetaArch`` with ``caffe_ssd``), the messages
  zookit writes, with the field names, numbers and defaults of TI's tidl_meta_arch.proto.
- ``object_detection``: the part of the TF OD API pipeline config that describes an SSD's anchors,
  box coder and post-processing (the messages TIDL's meta_arch_type 1 reads), in the field set of TI's
  bundled object_detection protos: TF OD API names and numbers, TI's ``box_input``/``class_input`` in
  ``Ssd``, and no field TI's older protos lack (``use_class_agnostic_nms``).

``render`` builds the message, prints it as text, parses the text back with the same schema and
checks the round trip, so a file that does not parse can never be written.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from zookit.errors import ZooError

F = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    "string": F.TYPE_STRING,
    "bool": F.TYPE_BOOL,
    "float": F.TYPE_FLOAT,
    "int32": F.TYPE_INT32,
    "uint32": F.TYPE_UINT32,
}
# message -> [(field, number, type, repeated, default)]; a type that is not a scalar names a message
# or enum of the same file.
Fields = list[tuple[str, int, str, bool, str | None]]

TIDL_META_ARCH: dict[str, Fields] = {
    "TIDLMetaArch": [("name", 1, "string", False, None), ("caffe_ssd", 2, "TidlMaCaffeSsd", True, None)],
    "TidlMaCaffeSsd": [
        ("box_input", 1, "string", True, None),
        ("class_input", 2, "string", True, None),
        ("output", 3, "string", True, None),
        ("name", 4, "string", False, None),
        ("in_width", 5, "uint32", False, None),
        ("in_height", 6, "uint32", False, None),
        ("score_converter", 7, "TIDLScoreConverter", False, "SOFTMAX"),
        ("prior_box_param", 8, "PriorBoxParameter", True, None),
        ("detection_output_param", 9, "TIDLOdPostProc", False, None),
        ("data_layout", 10, "TIDLAnchorDataLayout", False, "SEPARATED"),
        ("framework", 11, "string", False, None),
    ],
    "PriorBoxParameter": [
        ("min_size", 1, "float", True, None),
        ("max_size", 2, "float", True, None),
        ("aspect_ratio", 3, "float", True, None),
        ("flip", 4, "bool", False, "true"),
        ("clip", 5, "bool", False, "false"),
        ("variance", 6, "float", True, None),
        ("img_size", 7, "uint32", False, None),
        ("img_h", 8, "uint32", False, None),
        ("img_w", 9, "uint32", False, None),
        ("step", 10, "float", False, None),
        ("step_h", 11, "float", False, None),
        ("step_w", 12, "float", False, None),
        ("offset", 13, "float", False, "0.5"),
    ],
    "TIDLOdPostProc": [
        ("num_classes", 1, "uint32", False, None),
        ("share_location", 2, "bool", False, "true"),
        ("background_label_id", 3, "int32", False, "0"),
        ("nms_param", 4, "TIDLNmsParam", False, None),
        ("code_type", 6, "TIDLBoxCodeType", False, "CORNER"),
        ("keep_top_k", 7, "int32", False, "-1"),
        ("variance_encoded_in_target", 8, "bool", False, "false"),
        ("confidence_threshold", 9, "float", False, None),
    ],
    "TIDLNmsParam": [
        ("nms_threshold", 1, "float", False, "0.3"),
        ("top_k", 2, "int32", False, None),
        ("top_k_all_class", 3, "int32", False, "-1"),
        ("eta", 4, "float", False, "1.0"),
    ],
}
TIDL_ENUMS = {
    "TIDLBoxCodeType": [
        "CORNER=1",
        "CENTER_SIZE=2",
        "CORNER_SIZE=3",
        "CENTER_SIZE_EXP=4",
        "CENTER_SIZE_YXHW=5",
    ],
    "TIDLScoreConverter": ["IDENTITY=0", "SIGMOID=1", "SOFTMAX=2"],
    "TIDLAnchorDataLayout": ["SEPARATED=0", "INTERLEAVED=1"],
}

OBJECT_DETECTION: dict[str, Fields] = {
    "TrainEvalPipelineConfig": [("model", 1, "DetectionModel", False, None)],
    "DetectionModel": [("ssd", 2, "Ssd", False, None)],
    "Ssd": [
        ("num_classes", 1, "int32", False, None),
        ("image_resizer", 2, "ImageResizer", False, None),
        ("box_coder", 4, "BoxCoder", False, None),
        ("anchor_generator", 8, "AnchorGenerator", False, None),
        ("post_processing", 9, "PostProcessing", False, None),
        ("encode_background_as_zeros", 12, "bool", False, "false"),
        # TI's additions (tidl_fsg_od_meta_arch.md): the head convolutions' output tensors. Their numbers
        # in TI's bundled ssd.proto are not published; text format does not use them.
        ("box_input", 1001, "string", True, None),
        ("class_input", 1002, "string", True, None),
    ],
    "ImageResizer": [("fixed_shape_resizer", 2, "FixedShapeResizer", False, None)],
    "FixedShapeResizer": [("height", 1, "int32", False, "300"), ("width", 2, "int32", False, "300")],
    "BoxCoder": [("faster_rcnn_box_coder", 1, "FasterRcnnBoxCoder", False, None)],
    "FasterRcnnBoxCoder": [
        ("y_scale", 1, "float", False, "10.0"),
        ("x_scale", 2, "float", False, "10.0"),
        ("height_scale", 3, "float", False, "5.0"),
        ("width_scale", 4, "float", False, "5.0"),
    ],
    "AnchorGenerator": [("ssd_anchor_generator", 2, "SsdAnchorGenerator", False, None)],
    "SsdAnchorGenerator": [
        ("num_layers", 1, "int32", False, "6"),
        ("min_scale", 2, "float", False, "0.2"),
        ("max_scale", 3, "float", False, "0.95"),
        ("aspect_ratios", 4, "float", True, None),
        ("reduce_boxes_in_lowest_layer", 5, "bool", False, "true"),
        ("interpolated_scale_aspect_ratio", 13, "float", False, "1.0"),
    ],
    "PostProcessing": [
        ("batch_non_max_suppression", 1, "BatchNonMaxSuppression", False, None),
        ("score_converter", 2, "ScoreConverter", False, "IDENTITY"),
    ],
    # The fields of TI's bundled (TF 1.x era) post_processing.proto: no use_class_agnostic_nms.
    "BatchNonMaxSuppression": [
        ("score_threshold", 1, "float", False, "0.0"),
        ("iou_threshold", 2, "float", False, "0.6"),
        ("max_detections_per_class", 3, "int32", False, "100"),
        ("max_total_detections", 5, "int32", False, "100"),
    ],
}
OD_ENUMS = {"ScoreConverter": ["IDENTITY=0", "SIGMOID=1", "SOFTMAX=2"]}

SCHEMAS = {
    "tidl_meta_arch": ("TIDLMetaArch", TIDL_META_ARCH, TIDL_ENUMS),
    "object_detection": ("TrainEvalPipelineConfig", OBJECT_DETECTION, OD_ENUMS),
}


@cache
def message_class(package: str) -> Any:
    """The generated class of the schema's top-level message (``tidl_meta_arch`` or ``object_detection``)."""
    top, messages, enums = SCHEMAS[package]
    return build_message_class(package, top, messages, enums)


def build_message_class(
    package: str, top: str, messages: dict[str, Fields], enums: dict[str, list[str]]
) -> Any:
    """A message class built from a field table (message -> fields, enum -> ``NAME=number`` values)."""
    file = descriptor_pb2.FileDescriptorProto(
        name=f"zookit/{package}.proto", package=package, syntax="proto2"
    )
    for name, values in enums.items():
        enum = file.enum_type.add(name=name)
        for value in values:
            key, code = value.split("=")
            enum.value.add(name=key, number=int(code))
    for name, fields in messages.items():
        msg = file.message_type.add(name=name)
        for field, number, kind, repeated, default in fields:
            f = msg.field.add(name=field, number=number)
            f.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            if kind in SCALARS:
                f.type = SCALARS[kind]
            else:
                f.type = F.TYPE_ENUM if kind in enums else F.TYPE_MESSAGE
                f.type_name = f".{package}.{kind}"
            if default is not None:
                f.default_value = default
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{top}"))


def parse(package: str, text: str, where: str) -> Any:
    """Parse a text-format file of the schema; a malformed file is a ZooError naming ``where``."""
    message = message_class(package)()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise ZooError(f"{where}: not a valid {package} text proto: {exc}") from None
    return message


def render(package: str, content: dict[str, Any], where: str) -> str:
    """``content`` (nested dicts and lists, enum values by name) as checked text-format protobuf."""
    from google.protobuf import json_format

    message = message_class(package)()
    try:
        json_format.ParseDict(content, message)
    except json_format.ParseError as exc:
        raise ZooError(f"{where}: cannot describe this model in {package}: {exc}") from None
    text: str = text_format.MessageToString(message)
    if parse(package, text, where) != message:
        raise ZooError(f"{where}: the {package} text does not parse back to what was written")
    return text
