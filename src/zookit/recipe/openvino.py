"""The recipe's ``openvino`` section: the OpenVINO deployer's settings (model.py imports it). The
deployer reads one ONNX target of the recipe, writes its OpenVINO IR (float, and int8 by NNCF's
post-training quantization on the TFLite int8 targets' calibration data), runs both on the CPU against
the source and measures their latency::

    openvino:
      target: onnx              # an ONNX target of the recipe (not one keeping an SSD's own NMS)
      fp16: false               # true: the float IR stores its weights as FP16 (the CPU computes in f32)
      int8:                     # false: no int8 IR
        like: tflite-int8       # calibration count and tolerance of this TFLite int8 target (default:
                                # the recipe's first one); each can be set here instead
        calibration_samples: 64
        preset: performance     # NNCF's: performance (symmetric) or mixed (asymmetric activations)
        tolerance: {max_rel: 0.2, top1_agreement: 0.8}
      tolerance: {max_abs: 1.0e-4}   # the float IR's; default: the ONNX target's (fp16: float16's)
      latency: {threads: 1, warmup: 10, runs: 50}   # false: not measured

Nothing here imports numpy or a framework.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from zookit.recipe.names import Fraction, FrozenModel, PositiveFloat, PositiveInt


class Limits(FrozenModel):
    """What the OpenVINO model may differ from the source (as a target's tolerance)."""

    max_abs: PositiveFloat | None = None
    max_rel: PositiveFloat | None = None
    top1_agreement: Fraction | None = None

    def judges(self) -> bool:
        return any(v is not None for v in (self.max_abs, self.max_rel, self.top1_agreement))


class Int8(FrozenModel):
    like: str | None = Field(
        None,
        description="A TFLite int8 target whose calibration_samples and tolerance the int8 IR takes (default: "
        "the recipe's first TFLite int8 target); it is also the one put beside it in the record.",
    )
    calibration_samples: PositiveInt | None = Field(
        None, description="NNCF's subset_size (default: the like target's calibration_samples, else 16)."
    )
    preset: Literal["performance", "mixed"] = Field(
        "performance", description="NNCF's QuantizationPreset: symmetric (performance) or mixed."
    )
    tolerance: Limits | None = Field(None, description="Default: the like target's tolerance.")


class Latency(FrozenModel):
    threads: Annotated[int, Field(gt=0, le=256)] = Field(1, description="INFERENCE_NUM_THREADS.")
    warmup: Annotated[int, Field(ge=0, le=1000)] = 10
    runs: Annotated[int, Field(ge=5, le=10000)] = 50


class OpenVino(FrozenModel):
    """OpenVINO IR on the CPU: float and NNCF int8, verified against the source and timed."""

    target: str = Field(min_length=1, description="The ONNX target the IR is made from.")
    fp16: bool = Field(False, description="Store the float IR's weights as FP16 (half the .bin).")
    int8: Int8 | None = Field(default_factory=Int8, description="NNCF int8 IR; false: none.")
    tolerance: Limits | None = Field(None, description="The float IR's limits (default: the target's).")
    latency: Latency | None = Field(default_factory=Latency, description="Timed on this CPU; false: none.")

    @field_validator("int8", "latency", mode="before")
    @classmethod
    def _switch(cls, value: Any) -> Any:
        if value is True:
            return {}
        return None if value is False else value


def openvino_problems(recipe: Any) -> list[str]:
    """Checks of the openvino section that need the whole recipe."""
    ov = recipe.openvino
    if ov is None:
        return []
    targets = {t.name: t for t in recipe.targets}
    problems = []
    target = targets.get(ov.target)
    if target is None:
        onnx = [t.name for t in recipe.targets if t.format == "onnx"]
        problems.append(
            f"openvino.target: {ov.target!r} is not one of the targets; ONNX targets: {', '.join(onnx) or 'none'}"
        )
    elif target.format != "onnx":
        problems.append(
            f"openvino.target: {ov.target!r} is a {target.format} target; OpenVINO reads an ONNX one"
        )
    elif target.quantization != "float32":
        problems.append(f"openvino.target: {ov.target!r} is not a float32 model (NNCF makes the int8 one)")
    elif target.postprocess:
        problems.append(
            f"openvino.target: {ov.target!r} keeps the SSD's own post-process, whose outputs depend on the "
            "data; name a target cut at the heads"
        )
    if ov.int8 is not None:
        like = int8_like(recipe)
        if ov.int8.like is not None:
            chosen = targets.get(ov.int8.like)
            if chosen is None or chosen.format != "tflite" or chosen.quantization != "int8":
                int8 = [t.name for t in recipe.targets if t.format == "tflite" and t.quantization == "int8"]
                problems.append(
                    f"openvino.int8.like: {ov.int8.like!r} is not a TFLite int8 target of the recipe "
                    f"(those: {', '.join(int8) or 'none'})"
                )
        elif ov.int8.tolerance is None and like is None and recipe.task != "classification":
            problems.append(
                "openvino.int8.tolerance: required when the recipe has no TFLite int8 target to take it from "
                "(nothing else would be judged for a model that is not a classifier)"
            )
        if ov.int8.tolerance is not None and not ov.int8.tolerance.judges():
            problems.append("openvino.int8.tolerance: sets no limit")
    if ov.tolerance is not None and not ov.tolerance.judges():
        problems.append("openvino.tolerance: sets no limit")
    return problems


def int8_like(recipe: Any) -> Any:
    """The TFLite int8 target the int8 IR follows (``int8.like``, else the first), or None."""
    ov = recipe.openvino
    name = ov.int8.like if ov is not None and ov.int8 is not None else None
    for t in recipe.targets:
        if t.format == "tflite" and t.quantization == "int8" and (name is None or t.name == name):
            return t
    return None
