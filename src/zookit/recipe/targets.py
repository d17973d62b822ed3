"""A recipe's conversion targets: the format and quantization of each converted model, and how closely it
must agree with the source (its tolerance)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from zookit.recipe.names import Fraction, FrozenModel, Name, PositiveFloat, PositiveInt, RelPath
from zookit.recipe.quant import KeepFloat, keep_float_problem


class Tolerance(FrozenModel):
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


class Target(FrozenModel):
    name: Name
    format: Literal["tflite", "onnx"]
    quantization: Quantization = "float32"
    io_dtype: Literal["float32", "int8", "uint8", "int16"] = Field(
        "float32", description="Input/output type of a fully quantized model."
    )
    per_channel: bool = Field(True, description="Per-channel weight quantization (false: per-tensor).")
    per_channel_dense: bool = Field(
        True,
        description="int8/int16x8 TFLite targets: per-channel weights for fully-connected layers too (false: "
        "per-tensor there, as MLCommons' int8 models; TFLM then keeps no per-channel multipliers in its arena).",
    )
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
        None, description="int8/int16x8 TFLite targets: layers kept in float (recipe/quant.py; zoo diagnose)."
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
        if not self.per_channel_dense and not (full_int and self.format == "tflite"):
            raise ValueError("per_channel_dense: only TFLite int8 and int16x8 targets quantize dense layers")
        if self.io_dtype != "float32" and not full_int:
            raise ValueError(f"io_dtype: {self.io_dtype} needs quantization int8 or int16x8")
        if self.quantization == "int16x8" and self.io_dtype not in ("float32", "int16"):
            raise ValueError("io_dtype: int16x8 models take float32 or int16 inputs")
        if self.quantization == "int8" and self.io_dtype == "int16":
            raise ValueError("io_dtype: int8 models take float32, int8 or uint8 inputs")
        return self
