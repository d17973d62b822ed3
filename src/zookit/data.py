"""Input data for calibration and verification: seeded random tensors and preprocessed images."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import UsageError
from zookit.fsutil import IMAGE_SUFFIXES
from zookit.libs import load
from zookit.ports import Port
from zookit.recipe import Preprocessing, Recipe
from zookit.recipe.pictures import (
    per_channel as per_channel,  # re-exported: the deployers import it from here
)
from zookit.recipe.pictures import picture_range

log = logging.getLogger(__name__)


def default_images() -> Path:
    """The openly licensed image set shipped inside the package (images/SOURCES.md lists each photo)."""
    return Path(__file__).resolve().parent / "images"


def takes_pictures(recipe: Recipe, ports: list[Port]) -> bool:
    """The model (as trimmed) takes one picture: a recipe with preprocessing, one 4-D input (a model cut
    to take an interior tensor, such as a classifier head, takes no pictures)."""
    return recipe.preprocessing is not None and len(ports) == 1 and len(ports[0].shape) == 4


def image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UsageError(f"image folder {folder} holds no {'/'.join(IMAGE_SUFFIXES)} files")
    return files


SPLIT_PARTS = ("calibration", "search", "held_out")


def split_pictures(files: list[Path]) -> dict[str, list[Path]]:
    """The deterministic three-way split of a picture set that `zoo diagnose` calibrates, searches and
    judges on, and a target with ``calibration_pictures: split`` calibrates on: the files ordered by the
    SHA-256 of their names (not their folder's order, so no part is one photographer's run of shots),
    then cut into thirds (the calibration part takes the remainder). Each file's part depends only on
    the names in the set."""
    import hashlib

    ordered = sorted(files, key=lambda f: (hashlib.sha256(f.name.encode()).hexdigest(), f.name))
    third = len(ordered) // 3
    cut = len(ordered) - 2 * third
    return {
        "calibration": ordered[:cut],
        "search": ordered[cut : cut + third],
        "held_out": ordered[cut + third :],
    }


def random_inputs(
    recipe: Recipe, inputs: list[Port], count: int, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """``count`` seeded random samples, each value within the input's declared range."""
    rng = np.random.default_rng(seed)
    ranges = {s.name: s.value_range for s in recipe.inputs}
    samples = []
    for _ in range(count):
        sample = {}
        for port in inputs:
            low, high = ranges.get(port.name) or _default_range(recipe, port)
            data = rng.uniform(low, high, size=port.shape)
            sample[port.name] = data.astype(port.dtype)
        samples.append(sample)
    return samples


def _default_range(recipe: Recipe, port: Port) -> tuple[float, float]:
    if port.dtype == "uint8":
        return 0.0, 255.0
    if (
        recipe.preprocessing is None
    ):  # validation asks such recipes for value_range; a trimmed-in input has none
        return -1.0, 1.0
    return picture_range(recipe.preprocessing, port.dtype)


def decode_image(path: Path) -> Any:
    """The picture as float RGB pixels [H,W,3]; an unreadable, truncated or foreign file is a UsageError."""
    tf = load("tensorflow")

    try:
        image = tf.io.decode_image(path.read_bytes(), channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, OSError) as exc:
        reason = getattr(exc, "message", str(exc)).splitlines()[0]
        raise UsageError(f"{path}: cannot decode the image ({reason})") from None
    return tf.cast(image, tf.float32)


def geometry(image: Any, p: Preprocessing, height: int, width: int) -> np.ndarray:
    """Resize and crop as the recipe says: ``size`` is a plain resize; ``resize`` scales the shorter side
    (keeping the aspect ratio), then a central crop of ``crop`` (or the input size)."""
    tf = load("tensorflow")

    if p.size:
        image = tf.image.resize(image, p.size)
    else:
        if p.resize:
            h, w = image.shape[0], image.shape[1]
            factor = p.resize / min(h, w)
            image = tf.image.resize(image, (round(h * factor), round(w * factor)))
        image = tf.image.resize_with_crop_or_pad(image, p.crop or height, p.crop or width)
        if image.shape[0] != height or image.shape[1] != width:
            image = tf.image.resize(image, (height, width))
    return np.asarray(image.numpy())


def preprocess_image(path: Path, p: Preprocessing, port: Port) -> np.ndarray:
    """Decode, resize/crop, normalise and lay out one image as the recipe says, batch of 1."""
    array = geometry(decode_image(path), p, *_spatial(port, p.layout))
    if port.dtype == "uint8":
        return np.asarray(np.clip(np.round(array), 0, 255)[np.newaxis].astype(np.uint8))
    return normalize(array[np.newaxis], p, port.dtype)


def calibration_pictures(
    folder: Path, p: Preprocessing, height: int, width: int, count: int
) -> list[tuple[Path, bytes]]:
    """Up to ``count`` images of ``folder``, each checked by decoding it and brought to the model's input
    geometry as the recipe's preprocessing says, as PNG bytes (pixels only: no normalisation)."""
    tf = load("tensorflow")

    out = []
    for path in image_files(folder)[:count]:
        pixels = np.clip(np.round(geometry(decode_image(path), p, height, width)), 0, 255).astype(np.uint8)
        out.append((path, bytes(tf.io.encode_png(pixels).numpy())))
    return out


def normalize(pixels: np.ndarray, p: Preprocessing, dtype: str = "float32") -> np.ndarray:
    """RGB pixels [N,H,W,3] (0..255) to the model's input: channel order, (x - mean) * scale, layout."""
    array = pixels.astype(np.float32)
    if p.channel_order == "BGR":
        array = array[..., ::-1]
    array = (array - np.array(per_channel(p.mean), np.float32)) * np.array(per_channel(p.scale), np.float32)
    if p.layout == "NCHW":
        array = array.transpose(0, 3, 1, 2)
    return np.asarray(array.astype(dtype))


def _spatial(port: Port, layout: str) -> tuple[int, int]:
    if len(port.shape) != 4:
        raise UsageError(f"input {port.name} has shape {list(port.shape)}: images need a 4-D input")
    return (port.shape[2], port.shape[3]) if layout == "NCHW" else (port.shape[1], port.shape[2])


def image_inputs(
    recipe: Recipe, inputs: list[Port], folder: Path, limit: int | None = None, part: str | None = None
) -> list[dict[str, np.ndarray]]:
    """One preprocessed sample per picture of ``folder`` (``part``: of that part of split_pictures)."""
    if recipe.preprocessing is None:
        raise UsageError(
            f"{recipe.name}: the model takes no pictures (its recipe has no preprocessing section)"
        )
    if len(inputs) != 1:
        raise UsageError(f"{recipe.name}: images can feed only a single-input model, it has {len(inputs)}")
    files = image_files(folder)
    if part is not None:
        files = split_pictures(files)[part]
    files = files[:limit]
    p = recipe.preprocessing
    return [{inputs[0].name: preprocess_image(f, p, inputs[0])} for f in files]


def calibration_samples(
    recipe: Recipe,
    inputs: list[Port],
    count: int,
    images: Path | None,
    folder: Path | None = None,
    split: bool = False,
) -> list[dict[str, np.ndarray]]:
    """Images from ``images`` when given (cycled up to ``count``; ``split``: only the calibration part of
    split_pictures), else seeded random data (with a warning,
    unless the model takes no pictures). A model that takes no pictures calibrates on the recipe's
    samples marked for calibration (``folder``: its sources) and the ``.npy`` files of ``images``
    (``--samples DIR``) when there are any, cycled up to ``count``; else on random data within the
    declared range."""
    if not takes_pictures(recipe, inputs):
        from zookit.samples import recipe_samples, user_samples

        real = recipe_samples(recipe, folder, inputs, "calibration")
        if images is not None:
            real += user_samples(images, inputs)
        if real:
            return [real[i % len(real)] for i in range(max(count, len(real)))]
        return random_inputs(recipe, inputs, count, seed=1)
    if images is not None:
        samples = image_inputs(recipe, inputs, images, part="calibration" if split else None)
        if not samples:
            raise UsageError(f"{images}: too few pictures for a calibration part (give 3 or more)")
        return [samples[i % len(samples)] for i in range(max(count, len(samples)))]
    log.warning(
        "%s: calibrating on seeded random data: fine for testing, not for a model you ship; "
        "pass --calibration-images DIR",
        recipe.name,
    )
    return random_inputs(recipe, inputs, count, seed=1)
