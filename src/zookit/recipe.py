"""The recipe: a typed, immutable description of one model, loaded from YAML and validated.

Validation reports every problem it finds, each with the file and the field path
(``recipes/resnet50_v1.yaml: sources[0].checksum: expected 64 hex characters after 'sha256:'``),
and suggests the intended key for an unknown one. Nothing here imports a deep-learning framework.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from zookit.errors import RecipeError, UsageError
from zookit.fsutil import display_path as display_path  # re-exported: callers import it from here
from zookit.hashes import normalize_checksum
from zookit.recipe_evaluation import Evaluation, evaluation_problems
from zookit.recipe_files import ParsedCache, read_document
from zookit.recipe_labels import Labels, labels_problems
from zookit.recipe_mcu import Mcu, Sample, mcu_problems
from zookit.recipe_openvino import OpenVino, openvino_problems
from zookit.recipe_pictures import image_input_problems
from zookit.recipe_quant import KeepFloat, keep_float_problem
from zookit.recipe_tidl import Tidl, tidl_problems

RECIPE_SUFFIXES = (".yaml", ".yml")
_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]*")  # matched whole (fullmatch: no trailing newline slips by)
# Names become folders and parts of file names (``tidl_import_<name>.txt``, ``<name>_model_data.cc``).
MAX_NAME = 100


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid name: use lower-case letters, digits, '_', '-', '.'")
    if len(value) > MAX_NAME:
        raise ValueError(f"{value[:40]!r}... is {len(value)} characters long; at most {MAX_NAME}")
    return value


def _check_model_name(value: str) -> str:
    """A model's name is its folder in the zoo, beside the zoo's own files."""
    from zookit.layout import ZOO_LOCK

    if value == ZOO_LOCK:
        raise ValueError(f"{value!r} is the zoo's checksum lock file; choose another name")
    return value


# zookit keeps files beside each source (``.fetched-<file>.json``, ``.<file>.lock``): what is left of a
# file system's 255-byte name limit.
MAX_FILE_NAME = 200


def _check_file_name(value: str) -> str:
    if not value or "/" in value or "\\" in value or value in (".", "..") or value.startswith("."):
        raise ValueError(f"{value!r} must be a plain file name (no folders, not hidden)")
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise ValueError(
            f"{value!r} holds a control character (NUL, newline, ...): not usable as a file name"
        )
    if len(value.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME:
        raise ValueError(
            f"{value[:40]!r}... is {len(value.encode('utf-8', 'surrogatepass'))} bytes long; at most {MAX_FILE_NAME}"
        )
    return value


def _check_relative_path(value: str) -> str:
    norm = posixpath.normpath(value.replace("\\", "/"))
    if (
        value.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", value)
        or norm == ".."
        or norm.startswith("../")
    ):
        raise ValueError(f"{value!r} must be a relative path that stays inside the model's folder")
    return norm.removeprefix("./")


def _check_save_as(value: str) -> str:
    """Where a source is saved in the model's source folder: a file, not the folder, and not one of the
    hidden names zookit keeps beside each source (``.fetched-<file>.json``, ``.<file>.lock``)."""
    if value in (".", ""):
        raise ValueError("save_as names the source folder itself, not a file in it")
    for part in value.split("/"):
        if part.startswith("."):
            raise ValueError(f"{value!r}: hidden names (starting with '.') are kept for zookit's own files")
        _check_file_name(part)
    return value


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


Name = Annotated[str, AfterValidator(_check_name)]
ModelName = Annotated[str, AfterValidator(_check_name), AfterValidator(_check_model_name)]
FileName = Annotated[str, AfterValidator(_check_file_name)]
RelPath = Annotated[str, AfterValidator(_check_relative_path)]
SaveAs = Annotated[str, AfterValidator(_check_relative_path), AfterValidator(_check_save_as)]
Url = Annotated[str, AfterValidator(_check_url)]
Checksum = Annotated[str, AfterValidator(normalize_checksum)]
DType = Literal["float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"]
Layout = Literal["NHWC", "NCHW", "NC", "N", "NLC"]
PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=True)


# --- where the files come from -------------------------------------------------------------------


class Member(_Model):
    """A file inside an archive: the recipe may pin it with its own checksum."""

    path: RelPath = Field(description="Path inside the archive ('./' prefixes are ignored).")
    size: PositiveInt | None = None
    checksum: Checksum | None = None


class Source(_Model):
    """One file to download: several URLs tried in order (original first, mirrors after)."""

    file: FileName = Field(description="Name the file is saved under (and looked up by in mirrors).")
    urls: list[Url] = Field(min_length=1)
    size: PositiveInt | None = Field(description="Size in bytes, or null when no size is published.")
    checksum: Checksum | None = Field(
        description="'algo:hex' (sha256 preferred; sha384, md5, git-blob accepted), or null when none is "
        "published: the first fetch then records the observed checksum in the zoo's lock file."
    )
    note: str | None = Field(None, description="Where the checksum comes from, or why there is none.")
    unpack: bool | None = Field(None, description="Unpack this archive (default: by file extension).")
    save_as: SaveAs | None = Field(
        None,
        description="Where a plain file goes inside the model's source folder (default: its file name), "
        "e.g. 'kws/variables/variables.index' for a file of a SavedModel folder.",
    )
    members: list[Member] = Field(
        default_factory=list, description="Members to extract (default: all) and their checksums."
    )

    @property
    def is_archive(self) -> bool:
        if self.unpack is not None:
            return self.unpack
        return self.file.endswith((".tar", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz"))

    @model_validator(mode="after")
    def _members_need_archive(self) -> Source:
        if self.checksum and self.checksum.startswith("git-blob:") and self.size is None:
            raise ValueError("size: a git-blob checksum needs the file size")
        if self.members and not self.is_archive:
            raise ValueError(f"members: {self.file!r} is not unpacked, so it has no members")
        if self.save_as and self.is_archive:
            raise ValueError(f"save_as: {self.file!r} is an archive; its members keep their own paths")
        return self

    @property
    def dest(self) -> str:
        """The file's path inside the model's source folder."""
        return self.save_as or self.file


SourceFormat = Literal["tf-frozen-graph", "tf-saved-model", "keras", "onnx", "tflite"]


class ModelFile(_Model):
    """The model file the later stages start from, inside the model's source folder."""

    format: SourceFormat = Field(
        description="tf-frozen-graph (.pb), tf-saved-model (the folder holding saved_model.pb), keras "
        "(.h5 or .keras), onnx, tflite."
    )
    path: RelPath
    signature: str = Field(
        "serving_default", min_length=1, description="tf-saved-model: the signature to convert, by name."
    )

    @model_validator(mode="after")
    def _check(self) -> ModelFile:
        if self.format == "keras" and not self.path.endswith((".h5", ".keras", ".hdf5")):
            raise ValueError(f"path: a keras model is a .h5 or .keras file, got {self.path!r}")
        if self.signature != "serving_default" and self.format != "tf-saved-model":
            raise ValueError("signature: only for tf-saved-model sources")
        return self


# --- tensors and data ----------------------------------------------------------------------------


class TensorSpec(_Model):
    name: str = Field(min_length=1)
    shape: list[int] = Field(description="Dimensions; -1 for a dimension the source leaves open.")
    dtype: DType = "float32"
    layout: Layout | None = None
    value_range: tuple[float, float] | None = Field(
        None, description="Range of valid values, used for random verification inputs."
    )

    @model_validator(mode="after")
    def _check(self) -> TensorSpec:
        if any(d == 0 or d < -1 for d in self.shape):
            raise ValueError(f"shape: dimensions must be positive or -1, got {self.shape}")
        if self.layout and len(self.layout) != len(self.shape):
            raise ValueError(
                f"layout: {self.layout} has {len(self.layout)} axes but shape has {len(self.shape)}"
            )
        if self.value_range and self.value_range[0] >= self.value_range[1]:
            raise ValueError(f"value_range: low must be below high, got {list(self.value_range)}")
        return self


class Preprocessing(_Model):
    """How pixels become the input tensor: ``(pixel - mean) * scale`` per channel."""

    mean: list[float] = Field(min_length=1, max_length=3)
    scale: list[PositiveFloat] = Field(min_length=1, max_length=3)
    channel_order: Literal["RGB", "BGR"] = "RGB"
    layout: Literal["NHWC", "NCHW"] = "NHWC"
    resize: PositiveInt | None = Field(None, description="Resize the shorter side to this before cropping.")
    crop: PositiveInt | None = Field(None, description="Central crop to this size (square).")
    size: tuple[PositiveInt, PositiveInt] | None = Field(None, description="Plain resize to (height, width).")

    @model_validator(mode="after")
    def _check(self) -> Preprocessing:
        if self.crop and self.resize and self.crop > self.resize:
            raise ValueError(f"crop: {self.crop} is larger than resize {self.resize}")
        if self.size and (self.crop or self.resize):
            raise ValueError("size: give either size or resize/crop, not both")
        return self


class TrimInput(_Model):
    """An interior tensor that becomes a new input, bypassing what computes it."""

    tensor: str = Field(min_length=1, description="The interior tensor in the source graph.")
    name: str | None = Field(None, description="Name of the new input (default: the tensor's name).")
    shape: list[PositiveInt]
    dtype: DType = "float32"


class Trim(_Model):
    outputs: list[str] = Field(default_factory=list, description="Tensors to cut at (new outputs).")
    inputs: list[TrimInput] = Field(default_factory=list)


class CustomOps(_Model):
    allow: bool = Field(False, description="Let the TFLite converter keep ops it does not know.")
    ops: list[str] = Field(default_factory=list, description="The custom ops expected in the result.")

    @model_validator(mode="after")
    def _check(self) -> CustomOps:
        if self.ops and not self.allow:
            raise ValueError("allow: must be true when custom ops are listed")
        return self


# --- conversion targets --------------------------------------------------------------------------


class Tolerance(_Model):
    # "auto": margin x the noise floor measured on the verification samples (verify/noise.py)
    max_abs: PositiveFloat | Literal["auto"] | None = None
    max_rel: PositiveFloat | Literal["auto"] | None = None
    margin: PositiveFloat | None = Field(
        None,
        description="With max_abs or max_rel auto: the limit is margin x the measured noise floor (default 10).",
    )
    top1_agreement: Fraction | None = None
    box_iou: Fraction | None = None
    score_abs: PositiveFloat | None = None
    detection_match: Fraction | None = Field(
        None, description="Share of the source's detections the converted model must reproduce (default 1)."
    )

    @model_validator(mode="after")
    def _check(self) -> Tolerance:
        if self.margin is not None and "auto" not in (self.max_abs, self.max_rel):
            raise ValueError("margin: only with max_abs: auto or max_rel: auto")
        return self


Quantization = Literal["float32", "float16", "dynamic-range", "int8", "int16x8"]


class Target(_Model):
    name: Name
    format: Literal["tflite", "onnx"]
    quantization: Quantization = "float32"
    io_dtype: Literal["float32", "int8", "uint8", "int16"] = Field(
        "float32", description="Input/output type of a fully quantized model."
    )
    per_channel: bool = Field(True, description="Per-channel weight quantization (false: per-tensor).")
    calibration_samples: PositiveInt = 16
    calibration_pictures: Literal["all", "split"] = Field(
        "all",
        description="int8/int16x8 targets calibrated on pictures: all the pictures given, or (split) only "
        "the calibration third of them (data.split_pictures), as `zoo diagnose` calibrates: what its --write "
        "sets, so the next run converts the model it measured.",
    )
    compare_with: RelPath | None = Field(
        None,
        description="A TFLite file among the sources (an upstream's own quantized model) run on the same "
        "samples: its agreement with this target and the error of each against the source are reported.",
    )
    c_array: bool = Field(
        False,
        description="TFLite targets: also write the model as a C array (<name>_model_data.cc/.h, 16-byte "
        "aligned, for TensorFlow Lite Micro) and <name>_tensors.json (dtype, shape, scale, zero point).",
    )
    opset: Annotated[int, Field(ge=7, le=23)] | None = None
    inputs_as_nchw: bool = False
    postprocess: bool = Field(
        False,
        description="Detectors: the target ends in the detection post-process. TFLite SSD (detection.anchors): "
        "the TFLite_Detection_PostProcess op is appended to the raw heads. ONNX SSD (detection.priors): the "
        "source's own post-process is kept (the model TIDL's meta architecture replaces after the heads); "
        "without it an ONNX SSD target is cut after its head convolutions.",
    )
    as_released: bool = Field(
        False,
        description="A TFLite source cut before its own post-process: with postprocess, this target is the file "
        "as released (its own TFLite_Detection_PostProcess) instead of the heads with zookit's.",
    )
    tolerance: Tolerance = Field(default_factory=Tolerance)
    keep_float: KeepFloat | None = Field(
        None, description="int8/int16x8 TFLite targets: layers kept in float (recipe_quant.py; zoo diagnose)."
    )

    @model_validator(mode="after")
    def _check(self) -> Target:
        if problem := keep_float_problem(self.quantization, self.format, self.keep_float):
            raise ValueError(problem)
        if self.format == "onnx":
            if self.quantization != "float32":
                raise ValueError("quantization: ONNX targets are float32 (TIDL calibrates them itself)")
        elif self.opset is not None or self.inputs_as_nchw:
            raise ValueError("opset/inputs_as_nchw: only for onnx targets")
        if self.as_released and not (self.postprocess and self.format == "tflite"):
            raise ValueError("as_released: only for a TFLite target with postprocess: true")
        if self.c_array and self.format != "tflite":
            raise ValueError("c_array: only TFLite targets are written as C arrays")
        full_int = self.quantization in ("int8", "int16x8")
        if self.io_dtype != "float32" and not full_int:
            raise ValueError(f"io_dtype: {self.io_dtype} needs quantization int8 or int16x8")
        if self.quantization == "int16x8" and self.io_dtype not in ("float32", "int16"):
            raise ValueError("io_dtype: int16x8 models take float32 or int16 inputs")
        if self.quantization == "int8" and self.io_dtype == "int16":
            raise ValueError("io_dtype: int8 models take float32, int8 or uint8 inputs")
        return self


# --- detection -----------------------------------------------------------------------------------


class BoxCoder(_Model):
    y_scale: PositiveFloat = 10.0
    x_scale: PositiveFloat = 10.0
    h_scale: PositiveFloat = 5.0
    w_scale: PositiveFloat = 5.0


class SsdAnchors(_Model):
    """TF OD API ssd_anchor_generator (multiple-grid anchors)."""

    num_layers: PositiveInt
    min_scale: PositiveFloat
    max_scale: PositiveFloat
    aspect_ratios: list[PositiveFloat] = Field(min_length=1)
    reduce_boxes_in_lowest_layer: bool = True
    interpolated_scale_aspect_ratio: float = 1.0
    feature_map_sizes: list[PositiveInt] = Field(min_length=1)
    graph_anchors: str | None = Field(None, description="Tensor of the anchors the source graph computes.")

    @model_validator(mode="after")
    def _check(self) -> SsdAnchors:
        if len(self.feature_map_sizes) != self.num_layers:
            raise ValueError(
                f"feature_map_sizes: {len(self.feature_map_sizes)} sizes for num_layers {self.num_layers}"
            )
        if self.min_scale >= self.max_scale:
            raise ValueError("min_scale: must be below max_scale")
        return self


class PriorBox(_Model):
    """One head's priors, as Caffe's PriorBoxParameter (TIDL's caffe_ssd meta architecture)."""

    min_size: list[PositiveFloat] = Field(min_length=1)
    max_size: list[PositiveFloat] = Field(default_factory=list)
    aspect_ratio: list[PositiveFloat] = Field(default_factory=list)
    flip: bool = True
    clip: bool = False
    variance: list[PositiveFloat] = Field(default_factory=lambda: [0.1, 0.1, 0.2, 0.2])
    step: PositiveFloat
    offset: float = 0.5
    feature_map_size: PositiveInt | None = Field(None, description="Grid size of this head (square).")

    @model_validator(mode="after")
    def _check(self) -> PriorBox:
        if len(self.variance) != 4:
            raise ValueError(f"variance: TIDL needs exactly 4 values, got {len(self.variance)}")
        if self.max_size and len(self.max_size) != len(self.min_size):
            raise ValueError("max_size: give one per min_size")
        return self


class PostProcess(_Model):
    """Parameters of the detection post-process (NMS) step."""

    max_detections: PositiveInt = 100
    max_classes_per_detection: PositiveInt = 1
    detections_per_class: PositiveInt = 100
    use_regular_nms: bool = False
    score_threshold: Fraction = 0.3
    iou_threshold: Fraction = 0.6
    keep_top_k: PositiveInt | None = None
    top_k: PositiveInt | None = None


class Heads(_Model):
    """Where the backbone ends: the raw box and class outputs."""

    box_encodings: str | None = Field(None, description="TF: concatenated box encodings [1,N,4].")
    class_predictions: str | None = Field(None, description="TF: class scores after the score converter.")
    box_inputs: list[str] = Field(default_factory=list, description="ONNX: the box-head convolutions.")
    class_inputs: list[str] = Field(default_factory=list, description="ONNX: the class-head convolutions.")


class Detection(_Model):
    num_classes: PositiveInt = Field(description="Object classes, without the background class.")
    background_label_id: int = 0
    score_converter: Literal["sigmoid", "softmax", "identity"] = "sigmoid"
    box_code: Literal["center_size", "corner"] = "center_size"
    box_coder: BoxCoder = Field(default_factory=BoxCoder)
    anchors: SsdAnchors | None = None
    priors: list[PriorBox] = Field(default_factory=list)
    postprocess: PostProcess = Field(default_factory=PostProcess)
    heads: Heads = Field(default_factory=Heads)
    data_layout: Literal["separated", "interleaved"] = Field(
        "separated", description="caffe_ssd: how the heads lay out each prior's values (TIDL data_layout)."
    )

    @model_validator(mode="after")
    def _check(self) -> Detection:
        if self.anchors is None and not self.priors:
            raise ValueError("anchors/priors: a detector needs ssd anchors or prior boxes")
        if self.anchors is not None and self.priors:
            raise ValueError("anchors/priors: give one of them, not both")
        return self


# --- the recipe ----------------------------------------------------------------------------------

# Marks a deployer's section: the conversion digest leaves it out (a new deployer's section needs no
# other edit here than its field).
DEPLOY: dict[str, Any] = {"deploy": True}


class Recipe(_Model):
    """One model: where it comes from, what it computes, and how to make it target-ready."""

    _file: Path | None = None  # the file it was read from (load_recipe): private, in no key or dump

    name: ModelName
    description: str = Field(min_length=1)
    task: Literal["classification", "detection", "anomaly-detection"] = Field(
        description="classification (top-1 agreement is checked), detection, anomaly-detection (an "
        "autoencoder: its outputs are compared as they are)."
    )
    license: str = Field(min_length=1)
    num_classes: PositiveInt | None = Field(None, description="Classifier outputs (with background).")
    labels: Labels | None = Field(None, description="Class names (recipe_labels.py).")
    sources: list[Source] = Field(min_length=1)
    model: ModelFile
    inputs: list[TensorSpec] = Field(min_length=1)
    outputs: list[TensorSpec] = Field(min_length=1)
    preprocessing: Preprocessing | None = Field(
        None,
        description="How pictures become the input (image models only; a model without it takes no images).",
    )
    trim: Trim = Field(default_factory=Trim)
    custom_ops: CustomOps = Field(default_factory=CustomOps)
    targets: list[Target] = Field(min_length=1)
    detection: Detection | None = None
    # deploy sections (DEPLOY, json_schema_extra): what a deployer reads; no conversion reads them
    tidl: Tidl | None = Field(None, json_schema_extra=DEPLOY)
    samples: list[Sample] = Field(
        default_factory=list, description="Real input files among the sources (recipe_mcu.py)."
    )
    mcu: Mcu | None = Field(
        None,
        description="TensorFlow Lite Micro budgets and settings (recipe_mcu.py).",
        json_schema_extra=DEPLOY,
    )
    openvino: OpenVino | None = Field(
        None, description="OpenVINO IR, float and int8 (recipe_openvino.py).", json_schema_extra=DEPLOY
    )
    evaluation: Evaluation | None = Field(
        None,
        description="A labelled set, its metric, quality target and allowed drop (recipe_evaluation.py).",
        json_schema_extra=DEPLOY,
    )

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        problems = (
            mcu_problems(self) + openvino_problems(self) + evaluation_problems(self) + labels_problems(self)
        )
        problems += _duplicates("sources", "file", [s.file for s in self.sources])
        problems += _duplicates("sources", "save_as", [s.dest for s in self.sources])
        problems += _duplicates("targets", "name", [t.name for t in self.targets])
        problems += _reserved_targets([t.name for t in self.targets])
        if self.task == "detection" and self.detection is None:
            problems.append("detection: required for a detection recipe")
        problems += self._impossible_targets()
        problems += image_input_problems(self)
        for i, t in enumerate(self.targets):
            if not t.postprocess:
                continue
            if t.format == "onnx":
                if self.model.format != "onnx" or self.detection is None or not self.detection.priors:
                    problems.append(
                        f"targets[{i}].postprocess: an ONNX target keeps the post-process of an ONNX SSD "
                        "source with detection.priors"
                    )
                continue
            if self.detection is None or self.detection.anchors is None:
                problems.append(f"targets[{i}].postprocess: needs detection.anchors")
            if "TFLite_Detection_PostProcess" not in self.custom_ops.ops:
                problems.append(
                    f"targets[{i}].postprocess: custom_ops must allow and list TFLite_Detection_PostProcess"
                )
        problems += tidl_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _impossible_targets(self) -> list[str]:
        """Targets no converter can make from this source."""
        problems = []
        files = {s.dest for s in self.sources}
        for i, t in enumerate(self.targets):
            if t.format == "tflite" and self.model.format == "onnx":
                problems.append(
                    f"targets[{i}].format: a TFLite target needs a TensorFlow, Keras or TFLite source; "
                    "this model is ONNX (converters go from TensorFlow to ONNX, not back)"
                )
            if self.model.format == "tflite" and t.postprocess and not self.trim.outputs:
                problems.append(
                    f"targets[{i}].postprocess: a TFLite source gets a post-process only when trim.outputs "
                    "cuts it at its heads"
                )
            if t.compare_with is not None:
                if t.compare_with not in files:
                    problems.append(
                        f"targets[{i}].compare_with: {t.compare_with!r} is not one of the source files "
                        f"({', '.join(sorted(files))})"
                    )
                elif not t.compare_with.endswith(".tflite"):
                    problems.append(f"targets[{i}].compare_with: {t.compare_with!r} is not a .tflite file")
        return problems

    @property
    def takes_images(self) -> bool:
        return self.preprocessing is not None

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise UsageError(
            f"recipe {self.name!r} has no target {name!r}; its targets are "
            + ", ".join(t.name for t in self.targets)
        )

    @cached_property
    def digest(self) -> str:
        """sha256 of the recipe's canonical content: changes whenever any fact in it changes."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    @cached_property
    def conversion_digest(self) -> str:
        """sha256 of what a conversion reads (the target aside): not the description, license, notes, the
        deploy sections (TIDL, MCU, OpenVINO) or the other targets, so editing those converts nothing again."""
        deploy = {name for name, f in Recipe.model_fields.items() if f.json_schema_extra == DEPLOY}
        data = self.model_dump(mode="json", exclude={"description", "license", "targets", *deploy})
        for source in data["sources"]:
            source.pop("note", None)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _duplicates(field: str, key: str, values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, v in enumerate(values):
        if v in seen:
            out.append(f"{field}[{i}].{key}: duplicate {v!r}")
        seen.add(v)
    return out


# --- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedRecipe:
    recipe: Recipe
    path: Path


def parse_recipe(data: Any, where: str) -> Recipe:
    """Validate an already parsed document; ``where`` names it in errors."""
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise RecipeError(where, [f"expected a mapping of recipe fields at the top level, got {kind}"])
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(where, [_describe(err) for err in exc.errors()]) from None


def load_recipe(path: Path, document: Any = None) -> Recipe:
    """Read and validate one recipe file. The file's name (without suffix) must be the recipe's name.
    ``document``: the file's YAML already parsed (RecipeBook's cache), validated all the same."""
    where = display_path(path)
    data = read_document(path, where) if document is None else document
    recipe = parse_recipe(data, where)
    if recipe.name != path.stem:
        raise RecipeError(where, [f"name: {recipe.name!r} differs from the file name {path.stem!r}"])
    recipe._file = path.resolve()
    return recipe


def _reserved_targets(names: list[str]) -> list[str]:
    """A target's folder sits beside the source folder and the deployers' package folders."""
    from zookit.deploy import DEPLOYERS
    from zookit.layout import SOURCE

    reserved = {SOURCE, *DEPLOYERS}
    return [
        f"targets[{i}].name: {n!r} is the name of zookit's own folder for the model ({', '.join(sorted(reserved))}"
        " are taken); choose another"
        for i, n in enumerate(names)
        if n in reserved
    ]


# The zoos shipped inside the package, by name (``--recipes mlperf-tiny``): folder below the package.
SHIPPED_ZOOS = {"mlperf-inference": "recipes", "mlperf-tiny": "recipes/mlperf_tiny"}
# the same zoos by their folders' names
ZOO_ALIASES = {"mlperf_tiny": "mlperf-tiny", "mlperf_inference": "mlperf-inference"}


def recipes_dir(value: str) -> Path:
    """A recipe folder given as a path, or as the name of a shipped zoo (a folder of that name wins)."""
    if not value.strip() or "\0" in value:
        raise UsageError(
            "--recipes / $ZOO_RECIPES: give a folder or a shipped zoo's name (empty or NUL here)"
        )
    path = Path(value)
    name = ZOO_ALIASES.get(value, value)
    if name in SHIPPED_ZOOS and not path.is_dir():
        return Path(__file__).resolve().parent / SHIPPED_ZOOS[name]
    return path


def _shipped_zoo_holding(name: str, searched: Path) -> str | None:
    """The shipped zoo, other than the folder searched, that has a recipe of this name."""
    for zoo, folder in SHIPPED_ZOOS.items():
        path = Path(__file__).resolve().parent / folder
        if path.resolve() != searched.resolve() and any(
            (path / f"{name}{s}").is_file() for s in RECIPE_SUFFIXES
        ):
            return zoo
    return None


def default_recipes_dir() -> Path:
    """``$ZOO_RECIPES``, else the MLPerf inference recipes shipped inside the package."""
    return recipes_dir(os.environ.get("ZOO_RECIPES") or "mlperf-inference")


def recipe_files(folder: Path) -> list[Path]:
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"recipe folder {display_path(folder)} is a file, not a folder; pass --recipes DIR with the folder "
            f"that holds the recipes (or a shipped zoo: {', '.join(SHIPPED_ZOOS)})"
        )
    if not folder.is_dir():
        raise UsageError(
            f"recipe folder {display_path(folder)} does not exist; pass --recipes DIR (or a shipped zoo: "
            f"{', '.join(SHIPPED_ZOOS)}) or set ZOO_RECIPES"
        )
    # one folder read (os.scandir: no stat per file but for links, which Path.is_file follows as before),
    # sorted by name as the paths of one folder sort
    with os.scandir(folder) as entries:
        names = [
            e.name
            for e in entries
            if os.path.splitext(e.name)[1] in RECIPE_SUFFIXES
            and (Path(e.path).is_file() if e.is_symlink() else e.is_file())
        ]
    return [folder / name for name in sorted(names)]


class RecipeBook:
    """All recipes of a folder, loaded lazily, with the errors of the broken ones kept apart."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or default_recipes_dir()

    @cached_property
    def _loaded(self) -> tuple[dict[str, Recipe], dict[str, RecipeError]]:
        good: dict[str, Recipe] = {}
        bad: dict[str, RecipeError] = {}
        files = recipe_files(self.folder)
        cache = ParsedCache(self.folder)
        for path in files:
            try:
                good[path.stem] = load_recipe(path, cache.document(path, display_path(path)))
            except RecipeError as exc:
                bad[path.stem] = exc
            except OSError as exc:  # gone or unreadable since the folder was listed
                bad[path.stem] = RecipeError(display_path(path), [f"cannot read the file: {exc}"])
        cache.save({p.name for p in files})
        return good, bad

    def survey(self) -> tuple[dict[str, dict[str, Any]], dict[str, RecipeError]]:
        """What `zoo list` shows of each valid recipe and the errors of the others, by name, from the
        validated-recipe cache (zookit.recipe_cache): no Recipe is built."""
        from zookit.recipe_cache import listing

        return listing(self.folder, recipe_files(self.folder))

    @property
    def recipes(self) -> dict[str, Recipe]:
        return self._loaded[0]

    @property
    def errors(self) -> dict[str, RecipeError]:
        return self._loaded[1]

    def names(self) -> list[str]:
        return sorted(set(self.recipes) | set(self.errors))

    def get(self, name: str) -> Recipe:
        if name in self.errors:
            raise self.errors[name]
        if name in self.recipes:
            return self.recipes[name]
        hint = difflib.get_close_matches(name, self.names(), n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        shipped = _shipped_zoo_holding(name, self.folder)
        elsewhere = f"; {name} is in the shipped zoo {shipped}: pass --recipes {shipped}" if shipped else ""
        raise UsageError(
            f"no recipe named {name!r} in {display_path(self.folder)}{did_you_mean}{elsewhere}; "
            f"known: {', '.join(self.names()) or 'none'}"
        )

    def select(self, names: Iterable[str], all_: bool) -> list[Recipe]:
        names = list(names)
        if all_ and names:
            raise UsageError("give model names or --all, not both")
        if all_:
            names = self.names()
        if not names:
            raise UsageError("name at least one model, or pass --all")
        return [self.get(n) for n in names]


# --- error messages ------------------------------------------------------------------------------


def _format_loc(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err["type"] == "extra_forbidden":
        key = loc[-1]
        known = _fields_at(loc[:-1])
        hint = difflib.get_close_matches(str(key), known, n=1)
        msg = f"unknown field {str(key)!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        if known and not hint:
            msg += f"; expected one of: {', '.join(known)}"
        loc = loc[:-1]
    elif err["type"] == "missing":
        msg = "required field is missing"
    where = _format_loc(loc)
    return f"{where}: {msg}" if where else msg


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the recipe model found by following ``loc`` from the top."""
    model: Any = Recipe
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _inner_model(field.annotation)
    return list(getattr(model, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    """The first model class inside an annotation (list[X], X | None, Annotated[X, ...])."""
    stack = [annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            return current
        stack.extend(get_args(current))
    return None


def json_schema() -> dict[str, Any]:
    schema = Recipe.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "zookit recipe"
    return schema
