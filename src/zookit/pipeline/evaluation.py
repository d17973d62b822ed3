"""The ``evaluate`` stage of a recipe with an ``evaluation`` section: every artefact of the model measured
on the held-out part of its labelled set (zookit.evaluate).

    evaluate   reads the evaluation section, the set's files (their checksum), the checksums of every
               target's model file and deployer record, and the tool versions; current when
               ``zoo/<model>/evaluation.json`` has the key and passed. Without a data folder (no
               --data, no $ZOO_DATA) it is skipped with the reason "no data".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.fsutil import read_json
from zookit.libs import package_versions, tool_versions
from zookit.pipeline.stages import Check, ModelWork, Stage, digest
from zookit.recipe import Recipe

NAME = "evaluate"


def _artefacts(work: ModelWork) -> dict[str, Any]:
    """What each figure is of: every target's model checksum, the TFLM and OpenVINO records' keys."""
    layout, recipe = work.layout, work.recipe
    out: dict[str, Any] = {}
    for target in recipe.targets:
        folder = layout.target(recipe.name, target.name)
        manifest = read_json(folder / "manifest.json") or {}
        tflm = read_json(folder / "tflm.json") or {}
        out[target.name] = [
            (manifest.get("output") or {}).get("checksum"),
            tflm.get("stage_key"),
            tflm.get("files"),  # the files measured: a deploy key leaves the calibration data out
        ]
    openvino = read_json(layout.deploy(recipe.name, "openvino") / "package.json") or {}
    out["openvino"] = [openvino.get("stage_key"), openvino.get("files")]
    return out


def _key(work: ModelWork) -> str:
    labelled = work.labelled
    if labelled is None:
        return digest({"stage": NAME, "data": None})
    assert work.recipe.evaluation is not None
    return digest(
        {
            "stage": NAME,
            "evaluation": work.recipe.evaluation.model_dump(mode="json"),
            # how the set is read: the preprocessing and ports (in what a conversion reads)
            "recipe": work.recipe.conversion_digest,
            "set": labelled.digest(),
            "artefacts": _artefacts(work),
            "versions": tool_versions() | package_versions(("scikit-learn", "openvino", "tflite-micro")),
        }
    )


def no_data(recipe: Recipe) -> str:
    assert recipe.evaluation is not None
    return f"no data: give --data DIR or $ZOO_DATA holding {recipe.evaluation.set}/"


def _check(work: ModelWork, key: str) -> Check:
    if work.labelled is None:
        return None, {"evaluation": no_data(work.recipe)}
    from zookit.evaluate import record_path

    record = read_json(record_path(work.options.zoo_dir, work.recipe.name))
    if not isinstance(record, dict):
        return "not evaluated yet", {}
    if record.get("stage_key") != key:
        return "the data, a model or the tools changed", {}
    if not record.get("passed"):
        return "it failed last time", {}
    return None, detail(record)


def _run(work: ModelWork, key: str) -> dict[str, Any]:
    from zookit.evaluate import evaluate_model

    return detail(evaluate_model(work.prepared(), work.options.zoo_dir, work.labelled, key=key))


def detail(record: dict[str, Any]) -> dict[str, Any]:
    """The run summary's figures: every artefact's figure on the held-out part, the target beside."""
    figures = ", ".join(f"{m['name']} {m['value']:.3f}" for m in record["figures"])
    target = record.get("quality_target")
    beside = f" (quality target {target:g})" if target is not None else ""
    return {"evaluation": f"{record['metric']} on {record['measured_on']}: {figures}{beside}"}


def evaluation_stages(recipe: Recipe) -> list[Stage]:
    return [Stage(NAME, _key, _check, _run)] if recipe.evaluation is not None else []


def record_of(zoo_dir: Path, name: str) -> dict[str, Any] | None:
    from zookit.evaluate import record_path

    data = read_json(record_path(zoo_dir, name))
    return data if isinstance(data, dict) else None
