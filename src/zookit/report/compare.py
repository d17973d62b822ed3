"""Regressions: what got worse, what got better and which settings changed since an earlier report.

Compared row by row (a model's target, a model's deployer) for the models of the current report:
agreement that fell, an error or size that grew, a stage that passed and now fails are worse; the
opposite is better; a target's settings (tolerance, calibration samples, quantization...) that differ are
listed as changed, being neither. Figures equal to within rounding are the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.errors import UsageError
from zookit.jsonfile import load_document
from zookit.report.collect import FORMAT
from zookit.report.ethos_u import DEFAULT_MARGIN, compare_ethos_u
from zookit.report.values import number

# (figure, label, True when higher is better)
TARGET_FIGURES = (
    ("top1_agreement", "top-1 agreement", True),
    ("detections_matched", "detections matched", True),
    ("max_abs", "max_abs", False),
    ("max_rel", "max_rel", False),
    ("size", "size", False),
)
DEPLOY_FIGURES = (
    ("off_accelerator", "operators off the accelerator", False),
    ("arena_bytes", "arena bytes", False),
    ("flash_bytes", "flash bytes", False),
    ("max_abs", "max_abs", False),
    ("top1_agreement", "top-1 agreement", True),
)
GOOD = {"passed", "ready"}


def load_baseline(path: Path) -> dict[str, Any]:
    """An earlier report's document, or a UsageError naming the file and what is wrong with it."""
    data = load_document(path, "--baseline")
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("models"), list):
        raise UsageError(
            f"--baseline {path}: not a zoo report (expected the report.json that `zoo report` writes "
            f'beside index.html, with "format": "{FORMAT}" and a list of models)'
        )
    return data


def _same(old: float, new: float) -> bool:
    return abs(new - old) <= 1e-12 + 1e-9 * max(abs(old), abs(new))


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rows(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in _list(model.get("targets")):
        if isinstance(row, dict) and isinstance(row.get("target"), str):
            out[row["target"]] = row
    for row in _list(model.get("deployers")):
        if isinstance(row, dict) and isinstance(row.get("deployer"), str):
            out[row["deployer"]] = {**row, "_deployer": True}
    return out


def compare(
    baseline: dict[str, Any], current: dict[str, Any], margin: float = DEFAULT_MARGIN
) -> dict[str, Any]:
    """What got worse, better or changed; ``margin``: the share by which an Ethos-U figure (cycles, SRAM,
    flash, CPU operators) must grow or shrink to count (report.ethos_u)."""
    worse: list[dict[str, Any]] = []
    better: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    before = {  # rows of a hostile or foreign baseline that are not a model's are left out
        m["name"]: m
        for m in baseline.get("models") or []
        if isinstance(m, dict) and isinstance(m.get("name"), str)
    }

    def note(into: list[dict[str, Any]], model: str, item: str, what: str, old: Any, new: Any) -> None:
        into.append({"model": model, "item": item, "what": what, "old": old, "new": new})

    for model in current["models"]:
        name = model["name"]
        if name not in before:
            note(changed, name, "", "model", None, "new in this report")
            continue
        old_rows, new_rows = _rows(before[name]), _rows(model)
        for kind, entries in compare_ethos_u(name, before[name], model, margin).items():
            {"worse": worse, "better": better, "changed": changed}[kind].extend(entries)
        for item, row in new_rows.items():
            old = old_rows.get(item)
            if old is None:
                note(changed, name, item, "added", None, row.get("status"))
                continue
            was, now = str(old.get("status")), str(row.get("status"))
            if was != now and (was in GOOD) != (now in GOOD):
                note(worse if was in GOOD else better, name, item, "status", was, now)
            for key, label, higher in DEPLOY_FIGURES if row.get("_deployer") else TARGET_FIGURES:
                a, b = number(old.get(key)), number(row.get(key))
                if a is None or b is None or _same(a, b):
                    continue
                note(better if (b > a) == higher else worse, name, item, label, a, b)
            old_settings, new_settings = old.get("settings"), row.get("settings")
            if isinstance(old_settings, dict) and isinstance(new_settings, dict):
                for key in sorted(set(old_settings) | set(new_settings)):
                    if old_settings.get(key) != new_settings.get(key):
                        note(changed, name, item, key, old_settings.get(key), new_settings.get(key))
        for item in old_rows.keys() - new_rows.keys():
            note(
                worse if old_rows[item].get("status") in GOOD else changed,
                name,
                item,
                "gone",
                "present",
                None,
            )
    return {
        "baseline_created": baseline.get("created"),
        "margin": margin,
        "worse": worse,
        "better": better,
        "changed": changed,
    }


def describe(entry: dict[str, Any]) -> str:
    """One line: ``ic_resnet8 tflite-int8: top-1 agreement 0.9 -> 0.8``."""
    where = " ".join(p for p in (entry["model"], entry["item"]) if p)

    def text(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, dict):
            return ", ".join(f"{k} {text(v)}" for k, v in sorted(value.items())) or "none"
        return "none" if value is None else str(value)

    change = entry.get("change")
    by = f" ({change * 100:+.1f}%)" if isinstance(change, float) else ""
    return f"{where}: {entry['what']} {text(entry['old'])} -> {text(entry['new'])}{by}"
