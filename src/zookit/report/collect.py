"""The report's document: what the zoo's records say about each model, as one JSON-able dict.

Read from the records only (manifests, package records, fetch records) and the recipes; nothing is
converted and no model file is opened. A record that is missing, corrupted or foreign is reported as
such in its row, never raised. The document is what ``zoo report --json`` prints, what ``report.json``
beside the page holds, and what ``--baseline`` compares with (report.compare).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zookit.layout import SOURCE, Layout
from zookit.report.deployer_rows import openvino_row, tflm_row, tidl_row
from zookit.report.ethos_u import ethos_u_rows
from zookit.report.values import Unreadable, _dict, _list, _record, _worst, number

FORMAT = "zookit-report"
VERSION = 1

# the limits verification applies when a target sets none (zookit.verify.compare.DEFAULT_TOLERANCE; a
# test keeps the two equal: importing verify would import numpy and the runtimes)
DEFAULT_TOLERANCE: dict[str, dict[str, float]] = {
    "float32": {"max_abs": 1e-3, "top1_agreement": 1.0},
    "float16": {"max_rel": 5e-2, "top1_agreement": 0.9},
    "dynamic-range": {"max_rel": 0.2, "top1_agreement": 0.8},
    "int8": {"top1_agreement": 0.8},
    "int16x8": {"max_rel": 0.2, "top1_agreement": 0.8},
}
# the target settings a baseline comparison lists as changed (report.compare)
SETTINGS = ("format", "quantization", "calibration_samples", "per_channel", "io_dtype", "compare_with")
DIAGNOSIS = "diagnosis"  # the manifest key of a quantization diagnosis: per-layer figures (issue 21)
# what a target's row holds besides its name and status (None: no figure)
FIGURES = (
    "created",
    "file",
    "size",
    "max_abs",
    "max_rel",
    "tolerance",
    "tolerance_from",
    "top1_agreement",
    "top1_samples",
    "top1_on",
    "detections_matched",
    "data",
    "runtime",
    "reference",
    DIAGNOSIS,
    "settings",
    "provenance",
)


# --- a converted target ---------------------------------------------------------------------------


def _tolerance(target: dict[str, Any]) -> tuple[dict[str, float], str]:
    given = {k: v for k, v in _dict(target.get("tolerance")).items() if number(v) is not None}
    if given:
        return given, "recipe"
    return dict(DEFAULT_TOLERANCE.get(str(target.get("quantization")), {})), "default"


def _top1(v: dict[str, Any]) -> tuple[float | None, int | None, str]:
    """Top-1 agreement, the number of samples it is counted on, and what they are."""
    top1 = _dict(v.get("top1"))
    judged = top1.get("judged_on")
    if isinstance(judged, str) and isinstance(top1.get(judged), dict):
        figures = top1[judged]
        what = "real images" if judged == "real_images" else "samples"
        return number(figures.get("agreement")), number(figures.get("samples")), what  # type: ignore[return-value]
    return number(v.get("top1_agreement")), number(v.get("top1_decisive_samples")), "decisive samples"  # type: ignore[return-value]


def _reference(v: dict[str, Any]) -> dict[str, Any] | None:
    ref = v.get("reference")
    if not isinstance(ref, dict):
        return None

    def agreement(key: str) -> float | None:
        figures = _dict(ref.get(key))
        judged = figures.get("judged_on")
        return number(_dict(figures.get(judged if isinstance(judged, str) else "all")).get("agreement"))

    return {
        "file": str(ref.get("file", "")),
        "samples": number(ref.get("samples")),
        "upstream_max_abs": _worst(ref.get("upstream_error"), "max_abs"),
        "upstream_max_rel": _worst(ref.get("upstream_error"), "max_rel"),
        "target_vs_upstream_top1": agreement("target_vs_upstream_top1"),
        "upstream_vs_source_top1": agreement("upstream_vs_source_top1"),
    }


def _diagnosis_figures(data: Any) -> dict[str, Any] | None:
    """A diagnosis's search and held-out figures (issue 27): top-1 before/after on each part, how many
    samples decided, the layers kept in float, what the next run prints."""
    if not isinstance(data, dict) or not isinstance(data.get("search"), dict):
        return None
    search, held, nxt = data["search"], _dict(data.get("held_out")), _dict(data.get("next_run"))

    def top1(part: Any) -> float | None:
        return number(part.get("top1")) if isinstance(part, dict) else None

    changed = search.get("layers_changed")
    return {
        "goal": str(search.get("goal", "")),
        "met": search.get("met") is True,
        "search_top1": [top1(search.get("before")), top1(search.get("after"))],
        "held_out_top1": [top1(held.get("before")), top1(held.get("after"))],
        "decisive": number(_dict(search.get("after") or search.get("before")).get("decisive")),
        "held_out_decisive": number(_dict(held.get("before")).get("decisive")),
        "layers_changed": len(changed) if isinstance(changed, list) else None,
        "next_run_top1": number(nxt.get("top1")),
    }


def _diagnosis(data: Any) -> list[dict[str, Any]] | None:
    """Per-layer figures of a quantization diagnosis: a list of rows, or {"layers": [...]}."""
    rows = data.get("layers") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        return None
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        name = row.get("tensor") or row.get("op") or row.get("name") or row.get("layer") or f"#{i}"
        out.append(
            {
                **{k: v for k, v in row.items() if isinstance(v, (str, int, float, bool)) or v is None},
                "name": str(name),
                "sqnr_db": number(row.get("sqnr_db")),
            }
        )
    return out


def target_row(model: str, name: str, folder: Path, recipe_target: dict[str, Any] | None) -> dict[str, Any]:
    """One converted target from its manifest: figures, limits, upstream comparison, provenance."""
    row: dict[str, Any] = {
        "model": model,
        "target": name,
        "format": (recipe_target or {}).get("format"),
        "quantization": (recipe_target or {}).get("quantization"),
        "status": "missing",
        "problem": None,
        "stale": None,
        **dict.fromkeys(FIGURES),
    }
    data, problem = _record(folder / "manifest.json")
    if data is None:
        row["problem"] = problem or "not converted (no manifest.json)"
        row["status"] = "unreadable" if problem else "missing"
        return row
    try:
        row.update(_manifest_figures(data))
    except Unreadable as exc:
        row.update(status="unreadable", problem=f"manifest.json is not a zookit manifest: {exc}")
    return row


def _manifest_figures(data: dict[str, Any]) -> dict[str, Any]:
    target, v, output = data.get("target"), data.get("verification"), data.get("output")
    if not isinstance(target, dict) or not isinstance(v, dict) or not isinstance(output, dict):
        missing = [k for k in ("target", "verification", "output") if not isinstance(data.get(k), dict)]
        raise Unreadable(f"no {', '.join(missing)} section (foreign, or from another version)")
    tolerance, tolerance_from = _tolerance(target)
    if isinstance(v.get("limits"), dict) and "auto" in _dict(target.get("tolerance")).values():
        tolerance, tolerance_from = dict(v["limits"]), "measured noise floor x margin"
    top1, top1_samples, top1_on = _top1(v)
    failures = [str(f) for f in _list(v.get("failures")) if f]
    return {
        "format": target.get("format"),
        "quantization": target.get("quantization"),
        "status": "passed" if v.get("passed") is True else "failed",
        "problem": "; ".join(failures) or None,
        "created": data.get("created") if isinstance(data.get("created"), str) else None,
        "file": str(output.get("file", "")),
        "size": number(output.get("size")),
        "max_abs": _worst(v.get("outputs"), "max_abs"),
        "max_rel": _worst(v.get("outputs"), "max_rel"),
        "tolerance": tolerance,
        "tolerance_from": tolerance_from,
        "top1_agreement": top1,
        "top1_samples": top1_samples,
        "top1_on": top1_on,
        "detections_matched": number(_dict(v.get("detections")).get("matched_share")),
        "classes": _classes(v.get("classes")),
        "data": _dict(v.get("real")).get("data")
        or (f"{v.get('samples')} samples" if v.get("samples") else None),
        "runtime": _dict(v.get("measured_on")).get("runtime"),
        "reference": _reference(v),
        DIAGNOSIS: _diagnosis(data.get(DIAGNOSIS)),
        "diagnosis_figures": _diagnosis_figures(data.get(DIAGNOSIS)),
        "settings": {
            **{k: target.get(k) for k in SETTINGS},
            "tolerance": {k: val for k, val in _dict(target.get("tolerance")).items() if val is not None},
        },
        "provenance": {
            "checksum": output.get("checksum"),
            "sources": _dict(data.get("sources")),
            "versions": _dict(data.get("versions")),
            "options": _dict(data.get("options")),
            "timing": _dict(data.get("timing")),
        },
    }


def _classes(record: Any) -> str | None:
    """What the model sees on the shipped pictures, named (a recipe's labels): one line of eight pictures."""
    from zookit.verify.classes import classes_text

    return classes_text(record, 8) if isinstance(record, dict) and record.get("labels") else None


# --- a model --------------------------------------------------------------------------------------


def fetched(source: Path) -> dict[str, Any]:
    """The fetch records of a model's source files: checksum and size of each."""
    out: dict[str, Any] = {}
    if not source.is_dir():
        return out
    for stamp in sorted(source.glob(".fetched-*.json")):
        data, _ = _record(stamp)
        name = stamp.name.removeprefix(".fetched-").removesuffix(".json")
        out[name] = {"checksum": _dict(data).get("checksum"), "size": number(_dict(data).get("size"))}
    return out


def model_entry(layout: Layout, name: str, recipe: Any | None, plan: dict[str, str | None]) -> dict[str, Any]:
    from zookit.report.evaluation import evaluation_entry

    folder = layout.model(name)
    targets = [t.model_dump(mode="json") for t in recipe.targets] if recipe is not None else []
    names = [t["name"] for t in targets]
    if folder.is_dir() and not folder.is_symlink():  # targets in the zoo the recipe no longer names
        names += sorted(
            p.name for p in folder.iterdir() if p.name not in names and (p / "manifest.json").exists()
        )
    by_name = {t["name"]: t for t in targets}
    rows = [target_row(name, t, layout.target(name, t), by_name.get(t)) for t in names]
    mcu = recipe.mcu.model_dump(mode="json") if recipe is not None and recipe.mcu is not None else None
    deployers = [tidl_row(layout.deploy(name, "tidl"))]
    deployers += [tflm_row(layout.target(name, t), t, mcu) for t in names]
    deployers.append(openvino_row(layout.deploy(name, "openvino")))
    found = [d for d in deployers if d is not None]
    for row in rows:
        row["stale"] = plan.get(f"convert:{row['target']}") if row["status"] != "missing" else None
    for d in found:
        d["stale"] = plan.get(d["deployer"])
    ethos_u = ethos_u_rows(folder)  # Arm Ethos-U packages, one per target and configuration
    for e in ethos_u:
        e["stale"] = plan.get(e["stage"])
    known = {f"convert:{r['target']}" for r in rows} | {d["deployer"] for d in found}
    known |= {e["stage"] for e in ethos_u}
    todo = [{"stage": s, "reason": r} for s, r in plan.items() if r is not None]
    for stage in plan:  # a deployer that has written nothing yet
        if stage not in known and stage != "fetch" and plan[stage] is not None:
            found.append({"deployer": stage, "status": "missing", "problem": plan[stage], "stale": None})
    return {
        "name": name,
        "recipe": recipe is not None,
        "description": recipe.description if recipe is not None else None,
        "task": recipe.task if recipe is not None else None,
        "targets": rows,
        "deployers": found,
        "ethos_u": ethos_u,
        "todo": todo,
        "sources": fetched(layout.source(name)),
        "run": None,
        "evaluation": evaluation_entry(folder),  # accuracy on labelled data (report.evaluation)
    }


def zoo_models(layout: Layout, named: set[str]) -> list[str]:
    """Model folders in the zoo that no recipe names: folders with a source folder or a converted target
    (the report's own folder and anything else are not models)."""
    if not layout.zoo_dir.is_dir():
        return []
    out = []
    for p in sorted(layout.zoo_dir.iterdir()):
        if p.name in named or not p.is_dir() or p.is_symlink() or p.name.startswith("."):
            continue
        if (p / SOURCE).is_dir() or any((t / "manifest.json").exists() for t in p.iterdir() if t.is_dir()):
            out.append(p.name)
    return out


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
