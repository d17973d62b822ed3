"""A recipe's picture inputs (its ``preprocessing`` section), checked apart from model.py, which imports
this: each input a 4-D picture with 3 colour channels in the section's layout, and a ``value_range`` that
agrees with what the preprocessing makes of pixels.

What ``value_range`` means: the range of values the input tensor takes; random verification and
calibration data are drawn from it. For a picture input it follows from the preprocessing (pixels 0..255
through ``(pixel - mean) * scale``, per channel; a uint8 input takes the pixels as they are, 0..255), so
it may be left out; given, it must agree with that range (within 5% of its span: a rounded envelope passes), or random data would be
drawn from values the model never sees from a picture. Nothing here imports numpy or a framework.
"""

from __future__ import annotations

from typing import Any


def per_channel(values: list[float]) -> list[float]:
    """One value for all three channels, or one each."""
    return values * 3 if len(values) == 1 else values


def picture_range(preprocessing: Any, dtype: str) -> tuple[float, float]:
    """The range of an input's values when it is fed pictures (pixels 0..255) through ``preprocessing``."""
    if dtype == "uint8":
        return 0.0, 255.0
    pairs = list(zip(per_channel(preprocessing.mean), per_channel(preprocessing.scale), strict=True))
    return min((0 - m) * s for m, s in pairs), max((255 - m) * s for m, s in pairs)


def image_input_problems(recipe: Any) -> list[str]:
    """Preprocessing says the inputs are pictures: each must be a 4-D tensor with 3 colour channels, and
    its value_range (when given) the range the preprocessing makes."""
    problems = []
    p = recipe.preprocessing
    if p is None:
        if recipe.tidl is not None:
            problems.append("preprocessing: the tidl section needs it (TIDL's import takes mean and scale)")
        if recipe.task == "detection":
            problems.append("preprocessing: required for a detection recipe (its inputs are pictures)")
        problems += [
            f"inputs[{i}].value_range: required for a model whose inputs are not pictures (random "
            "verification and calibration data are drawn from it)"
            for i, spec in enumerate(recipe.inputs)
            if spec.value_range is None and spec.dtype.startswith("float")
        ]
        return problems
    for i, spec in enumerate(recipe.inputs):
        channels = spec.shape[1] if p.layout == "NCHW" else spec.shape[-1]
        if len(spec.shape) != 4 or channels not in (3, -1):
            problems.append(
                f"inputs[{i}].shape: {spec.shape} is not a picture in {p.layout} with 3 colour channels, "
                "but preprocessing says the inputs are images (leave preprocessing out for a model "
                "whose inputs are not pictures)"
            )
        elif spec.layout and spec.layout != p.layout:
            problems.append(f"inputs[{i}].layout: {spec.layout} differs from preprocessing.layout {p.layout}")
        elif spec.value_range is not None:
            low, high = picture_range(p, spec.dtype)
            slack = 0.05 * (high - low)
            if abs(spec.value_range[0] - low) > slack or abs(spec.value_range[1] - high) > slack:
                problems.append(
                    f"inputs[{i}].value_range: {list(spec.value_range)}, but preprocessing makes pixels "
                    f"0..255 into [{low:.6g}, {high:.6g}]; leave value_range out (it follows from "
                    "preprocessing) or make mean and scale what the model was trained with"
                )
    return problems
