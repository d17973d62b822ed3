"""A classifier's classes, named: on each real sample (a picture of the verification set, or a real sample
file) the source's top classes and the converted model's, and how often they agree (top-1: the same
best class; top-5: the source's best class among the converted model's five best). Recorded beside the
error figures, so a run names what a model sees (``labels`` in the recipe gives the names)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zookit.recipe import Recipe
from zookit.recipe.labels import class_names, top_classes

SHOWN_PICTURES = 3  # pictures named in a one-line summary


def class_figures(
    recipe: Recipe,
    pairs: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]],
    actual: list[dict[str, np.ndarray]],
    real: list[bool],
    images: Path | None,
    folder: Path | None,
) -> dict[str, Any] | None:
    """The record, or None for a model that is not a classifier or has no real samples."""
    chosen = [i for i, is_real in enumerate(real) if is_real]
    if recipe.task != "classification" or not chosen:
        return None
    names = class_names(recipe, folder)
    output = next(iter(pairs[0][1]))
    sample_names = _sample_names(recipe, images, len(chosen))
    rows, top1, top5 = [], 0, 0
    for name, i in zip(sample_names, chosen, strict=True):
        source = np.asarray(pairs[i][1][output]).ravel()
        converted = np.asarray(actual[i][output]).ravel()
        best = int(np.argmax(source))
        five = np.argsort(-converted.astype(np.float64), kind="stable")[:5]
        top1 += int(best == int(np.argmax(converted)))
        top5 += int(best in five)
        rows.append(
            {"sample": name, "source": top_classes(source, names), "target": top_classes(converted, names)}
        )
    return {
        "on": f"{len(chosen)} real samples",
        "labels": names is not None,
        "top1_agreement": top1 / len(chosen),
        "top5_agreement": top5 / len(chosen),
        "samples": rows,
    }


def _sample_names(recipe: Recipe, images: Path | None, count: int) -> list[str]:
    """The real samples' names: the pictures' file names, in the order they were read."""
    if images is not None and recipe.preprocessing is not None:
        from zookit.data import image_files

        files = [f.name for f in image_files(images)]
        if len(files) == count:
            return files
    return [f"sample {i}" for i in range(count)]


def classes_text(record: dict[str, Any] | None, count: int = SHOWN_PICTURES) -> str | None:
    """The source's best class on the first pictures, as one line: 'astronaut-full.jpg: suit (0.41)'."""
    if not record or not record.get("samples"):
        return None
    rows = record["samples"]
    whole = [r for r in rows if "-full." in r["sample"]]  # the shipped set: whole photos before crops
    parts = []
    for row in (whole + [r for r in rows if r not in whole])[:count]:
        found = [f"{c.get('name', 'class ' + str(c['class']))} ({c['score']:.2g})" for c in row["source"]]
        parts.append(f"{row['sample']}: {', '.join(found[:1] if 'target' in row else found) or 'nothing'}")
    return "; ".join(parts)


def class_detail(verification: dict[str, Any]) -> dict[str, Any]:
    """What a stage's detail (the run summary, ``--json``) shows of a verification's class record."""
    record = verification.get("classes")
    if not record:
        return {}
    out: dict[str, Any] = {}
    if "top1_agreement" in record:  # a classifier's (a detector's record names its detections only)
        out = {"real_top1": record["top1_agreement"], "real_top5": record["top5_agreement"]}
    text = classes_text(record)
    if text and record.get("labels"):
        out["classes"] = text
    return out


def detection_figures(
    recipe: Recipe,
    expected: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]],
    outputs: list[str],
    label_offset: int,
    real: list[bool],
    images: Path | None,
    folder: Path | None,
) -> dict[str, Any] | None:
    """The source detector's best detections on each real picture, named (``outputs``: boxes, scores,
    classes, count); None without real pictures."""
    chosen = [i for i, is_real in enumerate(real) if is_real]
    if not chosen:
        return None
    names = class_names(recipe, folder)
    rows = []
    for sample, i in zip(_sample_names(recipe, images, len(chosen)), chosen, strict=True):
        _, scores, classes, count = (np.asarray(expected[i][1][n]) for n in outputs)
        kept = min(int(count.ravel()[0]), SHOWN_PICTURES)
        found = []
        for c, s in zip(classes.ravel()[:kept], scores.ravel()[:kept], strict=True):
            index = int(c) - label_offset
            label = {"name": names[index]} if names is not None and 0 <= index < len(names) else {}
            found.append({"class": index, **label, "score": round(float(s), 6)})
        rows.append({"sample": sample, "source": found})
    return {"on": f"{len(chosen)} real pictures", "labels": names is not None, "samples": rows}
