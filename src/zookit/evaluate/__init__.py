"""Evaluation on labelled data: the source model and every artefact of the zoo measured on the held-out
part of the recipe's labelled set (``evaluation:`` in the recipe), judged by the drop against the source
on the same files, with the absolute quality target shown beside.

The record is ``zoo/<model>/evaluation.json``: the set and its split, and per artefact the figure, what
it was measured on (set, sample count, runtime and kernels), its size and whether it passes the gate.

What belongs here: the metrics (``metrics``), the runner of each artefact (``runners``, on ``runtimes``)
and the gate. The labelled sets and their calibration part are ``datasets`` (conversion and the
deployers read them too). A stage beside ``deploy`` and ``quantize``: none of the three imports another.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from zookit.datasets.labelled import LabelledSet, read_item
from zookit.errors import ZooError
from zookit.layout import Layout
from zookit.recipe import Recipe
from zookit.reference import Prepared

RECORD = "evaluation.json"
FORMAT = 1  # the record's format: raise it when the record is written differently


class EvaluationError(ZooError):
    """A target whose figure drops more than the recipe allows below the source's."""


def record_path(zoo_dir: Path, name: str) -> Path:
    return Layout(zoo_dir).model(name) / RECORD


def held_out_inputs(prepared: Prepared, labelled: LabelledSet) -> tuple[list[np.ndarray], list[int]]:
    """The model inputs ([n, ...] per file) and labels of the set's evaluation part."""
    _, held_out = labelled.split()
    port = prepared.inputs[0]
    return [read_item(labelled, i, prepared.recipe, port) for i in held_out], [i.label for i in held_out]


def outputs_of(run: Any, prepared: Prepared, inputs: list[np.ndarray], batched: bool) -> list[np.ndarray]:
    """The first output for every sample (all windows of a clip stacked). ``batched``: the runtime may
    take the whole set as one batch; one that refuses it runs one sample at a time."""
    port, out = prepared.inputs[0].name, prepared.outputs[0].name
    if batched:
        stacked = np.concatenate(inputs)
        try:
            y = np.asarray(run({port: stacked})[out])
        except Exception:  # a static batch of 1: the runtime's own error type, whichever it is
            y = None
        if y is not None and len(y) == len(stacked):
            return np.split(y, np.cumsum([len(x) for x in inputs])[:-1])
    return [
        np.concatenate([np.asarray(run({port: x[j : j + 1]})[out]) for j in range(len(x))]) for x in inputs
    ]


def evaluate_model(
    prepared: Prepared,
    zoo_dir: Path,
    labelled: LabelledSet,
    only: set[str] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Measure every artefact, write the record, and raise EvaluationError (after writing it) naming each
    target over the allowed drop with both figures."""
    from zookit.evaluate.metrics import figure
    from zookit.evaluate.runners import entries

    recipe = prepared.recipe
    ev = recipe.evaluation
    assert ev is not None
    inputs, labels = held_out_inputs(prepared, labelled)
    samples = sum(len(x) for x in inputs)
    measured: list[dict[str, Any]] = []
    source_value: float | None = None
    for entry in entries(prepared, zoo_dir, only):
        started = time.monotonic()
        run = entry.make()
        value = figure(ev.metric, labels, outputs_of(run, prepared, inputs, entry.batched), inputs)
        if entry.name == "source":
            source_value = value
        measured.append(
            {
                "name": entry.name,
                "value": round(value, 6),
                "runtime": entry.runtime,
                "size": entry.size,
                "checksum": entry.checksum,
                "gated": entry.gated,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    assert source_value is not None
    failures = judge(recipe, measured, source_value, labelled, len(labels))
    record = {
        "format": FORMAT,
        "recipe": recipe.name,
        "metric": ev.metric,
        "quality_target": ev.quality_target,
        "max_drop": ev.max_drop,
        "set": {
            "name": labelled.name,
            "folder": str(labelled.folder),
            "format": ev.format,
            "files": len(labelled.items),
            "digest": labelled.digest(),
        },
        "split": labelled.split_record(),
        "measured_on": f"{labelled.name}: {len(labels)} held-out files"
        + (f" ({samples} windows)" if samples != len(labels) else ""),
        "figures": measured,
        "failures": failures,
        "passed": not failures,
        "stage_key": key,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    from zookit.fsutil import write_json

    write_json(record_path(zoo_dir, recipe.name), record)
    if failures:
        raise EvaluationError("; ".join(failures))
    return record


def judge(
    recipe: Recipe, measured: list[dict[str, Any]], source: float, labelled: LabelledSet, count: int
) -> list[str]:
    """The gate: each judged figure's drop below the source's, against max_drop (one line each)."""
    ev = recipe.evaluation
    assert ev is not None
    failures = []
    target = f" (quality target {ev.quality_target:g})" if ev.quality_target is not None else ""
    for m in measured:
        name = m["name"]
        drop = source - m["value"]
        m["drop"] = round(drop, 6)
        m["passes"] = drop <= ev.max_drop + 1e-9 if m["gated"] else None
        m["meets_target"] = None if ev.quality_target is None else m["value"] >= ev.quality_target
        if m["passes"] is False:
            failures.append(
                f"{recipe.name}/{name}: {ev.metric} {m['value']:.3f} vs the source's {source:.3f} on "
                f"{labelled.name} ({count} held-out files): a drop of {drop:.3f} > max_drop {ev.max_drop:g}"
                f"{target}"
            )
    return failures
