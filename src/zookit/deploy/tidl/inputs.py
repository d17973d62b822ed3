"""The input a TIDL package's model takes: its geometry and layout, and the preprocessing that makes a
picture into it, in words (README, import-config comment) and as data (``package.json``)."""

from __future__ import annotations

from typing import Any

from zookit.data import per_channel
from zookit.errors import UsageError, ZooError
from zookit.recipe import Preprocessing, Recipe
from zookit.records import Manifest


def preprocessing_of(recipe: Recipe) -> Preprocessing:
    """A recipe with a tidl section has preprocessing (validation requires it: TIDL's import takes it)."""
    if recipe.preprocessing is None:
        raise UsageError(f"{recipe.name}: the recipe has no preprocessing section, which TIDL's import needs")
    return recipe.preprocessing


def input_geometry(manifest: Manifest, layout: str) -> tuple[int, int, int]:
    """(width, height, channels) of the model's first input."""
    shape = manifest.inputs[0]["shape"]
    if len(shape) != 4:
        raise ZooError(f"TIDL needs a 4-D image input, the model's is {shape}")
    if layout == "NCHW":
        return shape[3], shape[2], shape[1]
    return shape[2], shape[1], shape[3]


def input_layout(recipe: Recipe, manifest: Manifest) -> str:
    """The input layout of the file TIDL imports: TFLite models take NHWC, ONNX the recipe's."""
    nchw = manifest.target.get("inputs_as_nchw") or preprocessing_of(recipe).layout == "NCHW"
    return "NCHW" if manifest.target["format"] == "onnx" and nchw else "NHWC"


def describe_preprocessing(recipe: Recipe, width: int, height: int) -> str:
    """The preprocessing the deployed model expects, in words."""
    p = preprocessing_of(recipe)
    if p.size:
        geometry = f"RGB pixels resized to {p.size[1]}x{p.size[0]} (width x height, aspect ratio not kept)"
    elif p.resize:
        geometry = (
            f"RGB pixels resized so that the shorter side is {p.resize} (aspect ratio kept), then the central "
            f"{width}x{height} crop"
        )
    else:
        geometry = f"RGB pixels, central {width}x{height} crop"
    order = "" if p.channel_order == "RGB" else ", channels reversed to BGR"
    mean = ", ".join(f"{m:g}" for m in per_channel(p.mean))
    scale = ", ".join(f"{v:.8g}" for v in per_channel(p.scale))
    return f"{geometry}{order}, then (pixel - [{mean}]) * [{scale}] per channel"


def preprocessing_record(recipe: Recipe, width: int, height: int, layout: str) -> dict[str, Any]:
    """The same, as data in the terms of TI's edgeai tools (resize of the shorter side, crop, mean, scale)."""
    p = preprocessing_of(recipe)
    return {
        "resize": list(p.size) if p.size else p.resize,
        "resize_keeps_aspect_ratio": p.size is None and p.resize is not None,
        "crop": [height, width],
        "data_layout": layout,
        "reverse_channels": p.channel_order == "BGR",
        "input_mean": per_channel(p.mean),
        "input_scale": per_channel(p.scale),
        "description": describe_preprocessing(recipe, width, height),
    }
