"""The report's Arm Ethos-U section (issue 31): one row per target and Vela configuration, read from the
package records ``MODEL/TARGET/ethos_u/CONFIG/ethos_u.json`` that the ``ethos_u`` deployer writes, and the
comparison of their figures with an earlier report's.

A record is read as data that zookit may not have written: a figure that is missing, negative, not a
number or not finite is no figure (the row says which), text is text, and lists are capped, so a corrupted
or hostile record gives a row with its problem, never an exception. Nothing here runs Vela or imports the
deployer: the records are the interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.report.values import _dict, _list, _record, number

RECORD, FOLDER = "ethos_u.json", "ethos_u"
DEFAULT_MARGIN = 0.05  # a figure that grew or shrank by more than this share is worse or better
MAX_LAYERS = 2000  # layers of one record kept in the report (a real model has tens to hundreds)
MAX_FALLBACKS = 500  # CPU fallbacks of one record kept
MAX_TEXT = 300  # characters of a name or a reason kept
# the figures of a row: (key in the record, label on the page and in regressions)
FIGURES = (
    ("sram_kib", "SRAM KiB"),
    ("flash_kib", "flash KiB"),
    ("inference_time_ms", "inference time (ms)"),
    ("cycles", "cycles"),
    ("npu_cycles", "NPU cycles"),
    ("macs", "MACs"),
    ("npu_operators", "NPU operators"),
    ("cpu_operators", "CPU operators"),
)
COMPARED = ("cycles", "sram_kib", "flash_kib", "cpu_operators")  # lower is better, compared with a margin
SETTINGS = ("accelerator", "system_config", "memory_mode", "config_file", "optimise", "vela_version")
GOOD = {"passed"}


def _amount(value: Any) -> float | None:
    """A figure that can be one: a finite number, 0 or more (a count, a size, a time)."""
    n = number(value)
    return n if n is not None and n >= 0 else None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value[:MAX_TEXT]
    return str(value) if isinstance(value, (int, float)) else None  # bool too; a list is no text


def stage_name(target: str, config: str) -> str:
    """The pipeline stage that writes a record (what `zoo run --dry-run` names)."""
    return f"ethos_u:{target}:{config}"


def ethos_u_rows(model_folder: Path) -> list[dict[str, Any]]:
    """Every Ethos-U package record of a model's folder, one row each, by target and configuration.
    Folders reached through a link are not read (a zoo's records live in the zoo)."""
    rows: list[dict[str, Any]] = []
    if not model_folder.is_dir() or model_folder.is_symlink():
        return rows
    for target in sorted(model_folder.iterdir()):
        base = target / FOLDER
        if target.is_symlink() or not base.is_dir() or base.is_symlink():
            continue
        for config in sorted(base.iterdir()):
            if config.is_dir() and not config.is_symlink() and (config / RECORD).exists():
                rows.append(ethos_u_row(target.name, config.name, config / RECORD))
    return rows


def _empty(target: str, config: str) -> dict[str, Any]:
    return {
        "target": target,
        "config": config,
        "stage": stage_name(target, config),
        "status": "unreadable",
        "problem": None,
        "stale": None,
        **dict.fromkeys(SETTINGS),
        **{key: None for key, _ in FIGURES},
        "dram_kib": None,
        "budgets": {"sram_kib": None, "flash_kib": None},
        "over": [],
        "cpu_fallbacks": [],
        "fallbacks_left_out": 0,
        "layers": [],
        "layers_left_out": 0,
        "created": None,
    }


def ethos_u_row(target: str, config: str, path: Path) -> dict[str, Any]:
    """One record as a row: its settings, figures, budgets (and which figure is over its budget), CPU
    fallbacks and layers; ``status`` passed, failed (over a budget) or unreadable (with ``problem``)."""
    row = _empty(target, config)
    data, problem = _record(path)
    if data is None:
        row["problem"] = problem or f"{RECORD} is missing"
        return row
    if data.get("deployer") != "ethos_u":
        row["problem"] = (
            f"{RECORD} is not an Ethos-U package record (deployer {_text(data.get('deployer'))!r})"
        )
        return row
    row.update({key: _text(data.get(key)) for key in SETTINGS})
    row["created"] = _text(data.get("created"))
    row.update({key: _amount(data.get(key)) for key, _ in FIGURES})
    row["dram_kib"] = _amount(data.get("dram_kib"))  # the deployer's: where a U65 keeps its weights
    budgets = _dict(data.get("budgets"))
    row["budgets"] = {key: _amount(budgets.get(key)) for key in ("sram_kib", "flash_kib")}
    row["cpu_fallbacks"], row["fallbacks_left_out"] = _fallbacks(data.get("cpu_fallbacks"))
    row["layers"], row["layers_left_out"] = _layers(data.get("layers"))
    bad = [key for key, _ in FIGURES if row[key] is None]
    row["over"] = [
        f"{label} {row[key]:.4g} KiB over the budget of {row['budgets'][key]:.4g} KiB"
        for key, label in (("sram_kib", "SRAM"), ("flash_kib", "flash"))
        if row[key] is not None and row["budgets"][key] is not None and row[key] > row["budgets"][key]
    ]
    if bad:
        row["status"] = "unreadable"
        row["problem"] = f"{RECORD}: no figure for {', '.join(bad)} (missing, negative or not a number)"
    else:
        row["status"] = "failed" if row["over"] else "passed"
        row["problem"] = "; ".join(row["over"]) or None
    return row


def _fallbacks(value: Any) -> tuple[list[dict[str, str]], int]:
    items = [f for f in _list(value) if isinstance(f, dict)]
    kept = [{key: _text(f.get(key)) or "" for key in ("name", "op", "reason")} for f in items[:MAX_FALLBACKS]]
    return kept, len(items) - len(kept)


def _layers(value: Any) -> tuple[list[dict[str, Any]], int]:
    items = [f for f in _list(value) if isinstance(f, dict)]
    kept = []
    for layer in items[:MAX_LAYERS]:
        where = layer.get("where")
        utilisation = number(layer.get("utilisation"))
        kept.append(
            {
                "name": _text(layer.get("name")) or "",
                "op": _text(layer.get("op")) or "",
                "where": where if where in ("NPU", "CPU") else "?",
                "cycles": _amount(layer.get("cycles")),
                "macs": _amount(layer.get("macs")),
                "utilisation": utilisation if utilisation is not None and 0 <= utilisation <= 100 else None,
            }
        )
    return kept, len(items) - len(kept)


# --- against a baseline ---------------------------------------------------------------------------


def _by_config(model: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _list(model.get("ethos_u")):
        if (
            isinstance(row, dict)
            and isinstance(row.get("target"), str)
            and isinstance(row.get("config"), str)
        ):
            out[(row["target"], row["config"])] = row
    return out


def _entry(model: str, key: tuple[str, str], what: str, old: Any, new: Any) -> dict[str, Any]:
    target, config = key
    return {
        "model": model,
        "item": f"ethos-u {target} {config}",
        "target": target,
        "config": config,
        "what": what,
        "old": old,
        "new": new,
    }


def compare_ethos_u(
    model: str, before: dict[str, Any], now: dict[str, Any], margin: float = DEFAULT_MARGIN
) -> dict[str, list[dict[str, Any]]]:
    """A model's Ethos-U rows against the baseline's: cycles, SRAM, flash and CPU operators that grew by
    more than ``margin`` (a share: 0.05 is 5%) are worse, that shrank by more are better; a row that
    passed and no longer does is worse; configurations added or gone, and settings that differ (another
    Vela, another system configuration), are changed."""
    out: dict[str, list[dict[str, Any]]] = {"worse": [], "better": [], "changed": []}
    old_rows, new_rows = _by_config(before), _by_config(now)
    labels = dict(FIGURES)
    for key, row in new_rows.items():
        old = old_rows.get(key)
        if old is None:
            out["changed"].append(_entry(model, key, "added", None, row.get("status")))
            continue
        was, is_now = str(old.get("status")), str(row.get("status"))
        if was != is_now and (was in GOOD) != (is_now in GOOD):
            out["worse" if was in GOOD else "better"].append(_entry(model, key, "status", was, is_now))
        for figure in COMPARED:
            a, b = _amount(old.get(figure)), _amount(row.get(figure))
            if a is None or b is None:
                continue
            kind = "worse" if b > a * (1 + margin) else "better" if b < a * (1 - margin) else None
            if kind is not None:
                entry = _entry(model, key, labels[figure], a, b)
                entry["change"] = None if a == 0 else (b - a) / a
                out[kind].append(entry)
        for setting in SETTINGS:
            if old.get(setting) != row.get(setting):
                out["changed"].append(_entry(model, key, setting, old.get(setting), row.get(setting)))
    for key in sorted(old_rows.keys() - new_rows.keys()):
        out["changed"].append(_entry(model, key, "gone", "present", None))
    return out
