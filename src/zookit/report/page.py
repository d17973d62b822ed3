"""The HTML page: the report's document rendered with the jinja2 template ``page.html.j2`` beside this
module, every value escaped (a recipe description or a tensor name is text, never markup); the charts
are pygal's SVG, inlined."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Any

from zookit.report import charts
from zookit.report.compare import describe
from zookit.report.evaluation import accuracy_vs_size

NONE = "\u2013"  # an en dash: no figure


def _num(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _size(value: Any) -> str:
    if value is None:
        return NONE
    if value >= 1 << 20:
        return f"{value / (1 << 20):.1f} MiB"
    return f"{value / 1024:.1f} KiB"


def _age(created: Any, now: str) -> str:
    """How long before the report a result was made: ``3 min``, ``5 h``, ``2 d``."""
    try:
        seconds = (datetime.fromisoformat(now) - datetime.fromisoformat(str(created))).total_seconds()
    except (TypeError, ValueError):
        return NONE
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit}"
    return "just now" if seconds >= 0 else NONE


def _bytes(value: Any) -> str:
    return "none" if value is None else f"{int(value):,}"


def _percent(value: Any, budget: Any) -> float:
    return 0.0 if not budget else min(100.0, 100.0 * value / budget)


def _chart_rows(model: dict[str, Any]) -> list[dict[str, Any]]:
    """What the size chart draws of each target."""
    keys = ("target", "status", "stale", "size", "top1_agreement", "max_rel", "tolerance")
    return [{k: row.get(k) for k in keys} for row in model["targets"]]


def render(doc: dict[str, Any]) -> str:
    """The page, its charts drawn anew each time: a drawing kept from an earlier report would be inlined as
    it is, and any file planted in its place with it (issue 28)."""
    import jinja2
    import markupsafe

    env = jinja2.Environment(autoescape=True, trim_blocks=True)
    env.filters.update(bytes=_bytes, num=_num, size=_size, percent=_percent, describe=describe)
    env.filters["age"] = lambda created: _age(created, doc["created"])
    template = env.from_string(resources.files(__package__).joinpath("page.html.j2").read_text("utf-8"))
    figures: dict[str, dict[str, Any]] = {}
    for model in doc["models"]:
        figures[model["name"]] = {
            "size": charts.size_vs_agreement(model["name"], _chart_rows(model)),
            "diagnosis": {
                row["target"]: charts.diagnosis(model["name"], row["target"], row["diagnosis"])
                for row in model["targets"]
                if row.get("diagnosis")
            },
            "ethos_u": [charts.ethos_u_layers(model["name"], row) for row in model.get("ethos_u") or []],
            "evaluation": accuracy_vs_size(model["name"], model["evaluation"])
            if model.get("evaluation")
            else None,
        }
    return template.render(doc=doc, charts=figures, safe=markupsafe.Markup)
