"""A recipe's tensors and what is done to them before conversion: the model's inputs and outputs, how
pictures become the input (preprocessing), where the graph is cut (trim) and the custom ops allowed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from zookit.recipe.names import DType, FrozenModel, Layout, PositiveFloat, PositiveInt


class TensorSpec(FrozenModel):
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


class Preprocessing(FrozenModel):
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


class TrimInput(FrozenModel):
    """An interior tensor that becomes a new input, bypassing what computes it."""

    tensor: str = Field(min_length=1, description="The interior tensor in the source graph.")
    name: str | None = Field(None, description="Name of the new input (default: the tensor's name).")
    shape: list[PositiveInt]
    dtype: DType = "float32"


class Trim(FrozenModel):
    outputs: list[str] = Field(default_factory=list, description="Tensors to cut at (new outputs).")
    inputs: list[TrimInput] = Field(default_factory=list)


class CustomOps(FrozenModel):
    allow: bool = Field(False, description="Let the TFLite converter keep ops it does not know.")
    ops: list[str] = Field(default_factory=list, description="The custom ops expected in the result.")

    @model_validator(mode="after")
    def _check(self) -> CustomOps:
        if self.ops and not self.allow:
            raise ValueError("allow: must be true when custom ops are listed")
        return self
