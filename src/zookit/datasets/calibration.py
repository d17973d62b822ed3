"""Calibration data from a recipe's labelled set: the set's calibration part (never judged on) as the
inputs of an int8 conversion or quantization, the line and digest a manifest records for it, and which
calibration part a model's targets were made with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zookit.datasets.labelled import LabelledSet, read_item
from zookit.layout import Layout
from zookit.recipe import Recipe
from zookit.reference import Prepared


def calibration_feeds(
    recipe: Recipe, ports: list[Any], labelled: LabelledSet, count: int
) -> list[dict[str, np.ndarray]]:
    """``count`` model inputs from the set's calibration part (never judged on): its samples cycled
    when there are fewer (as calibration_samples cycles pictures), else evenly spaced ones (a clip's
    windows are many)."""
    calibration, _ = labelled.split()
    port = ports[0]
    arrays = [x for item in calibration for x in read_item(labelled, item, recipe, port)]
    if not arrays:
        return []
    if len(arrays) > count:
        arrays = [arrays[int(i)] for i in np.linspace(0, len(arrays) - 1, count).round()]
    else:
        arrays = [arrays[i % len(arrays)] for i in range(count)]
    return [{port.name: a[np.newaxis]} for a in arrays]


def labelled_calibration(prepared: Prepared, count: int) -> tuple[list[dict[str, np.ndarray]], str]:
    """The calibration data of an int8 conversion from the labelled set's calibration part, and the
    line the manifest records for it (the split's rule and counts)."""
    labelled: LabelledSet = prepared.labelled
    feeds = calibration_feeds(prepared.recipe, prepared.inputs, labelled, count)
    calibration, held_out = labelled.split()
    what = (
        f"real samples: {len(feeds)} inputs (cycled if fewer) from the calibration part of labelled set "
        f"{labelled.name} "
        f"({len(calibration)} files: the first {labelled.evaluation.calibration_per_class} of each class by "
        f"name; the other {len(held_out)} are the ones evaluated), digest {labelled.digest(calibration)}"
    )
    return feeds, what


def calibration_digest(prepared: Prepared) -> str:
    labelled: LabelledSet = prepared.labelled
    return labelled.digest(labelled.split()[0])


def recorded_calibration_set(recipe: Recipe, layout: Layout) -> str | None:
    """The calibration part an int8 target of the model was made with (its manifest's options), if any."""
    from zookit.fsutil import read_json

    if recipe.evaluation is None:
        return None
    for target in recipe.targets:
        manifest = read_json(layout.target(recipe.name, target.name) / "manifest.json")
        if isinstance(manifest, dict) and (manifest.get("options") or {}).get("calibration_set"):
            return str(manifest["options"]["calibration_set"])
    return None


def non_picture_calibration(recipe: Recipe, images: Path | None) -> str:
    """What an int8 conversion of a model that takes no pictures is calibrated on, as its manifest says:
    the recipe's calibration samples and the .npy files of ``images``, else seeded random data."""
    from zookit.samples import describe, npy_files

    real = describe(recipe, "calibration")
    if images is not None and npy_files(images):
        real.append(f"the .npy files of {images}")
    if real:
        return "real samples: " + ", ".join(real)
    return "seeded random data within the inputs' value_range (no pictures, no samples for calibration)"
