"""The report's accuracy on labelled data: a model's ``evaluation.json`` (zookit.evaluate) as a table row
set and an accuracy-against-size chart (pygal, like report.charts). A record that is missing, foreign or
malformed gives no section (the page shows what it can read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.fsutil import read_json

FIELDS = ("name", "value", "drop", "passes", "meets_target", "runtime", "size")


def evaluation_entry(model_dir: Path) -> dict[str, Any] | None:
    """What the page shows of a model's evaluation record, or None."""
    data = read_json(model_dir / "evaluation.json")
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        return None
    rows = [
        {k: f.get(k) for k in FIELDS}
        for f in data["figures"]
        if isinstance(f, dict) and isinstance(f.get("value"), int | float) and isinstance(f.get("name"), str)
    ]
    split = data["split"] if isinstance(data.get("split"), dict) else {}
    return {
        "metric": str(data.get("metric")),
        "measured_on": str(data.get("measured_on")),
        "quality_target": data.get("quality_target"),
        "max_drop": data.get("max_drop"),
        "calibration": split.get("calibration"),
        "passed": bool(data.get("passed")),
        "failures": [str(f) for f in data.get("failures") or []],
        "created": data.get("created"),
        "figures": rows,
    }


def accuracy_vs_size(model: str, entry: dict[str, Any]) -> str | None:
    """Each artefact's figure (y) against its size (x); the quality target and the gate as lines."""
    from zookit.report.charts import COLORS, _pygal, _style, _svg

    pygal = _pygal()
    points = [r for r in entry["figures"] if r.get("size")]
    if not points:
        return None
    chart = pygal.XY(
        stroke=False,
        width=460,
        height=280,
        print_labels=True,
        dots_size=5,
        truncate_label=-1,
        x_label_rotation=30,
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,
        style=_style((COLORS["passed"], COLORS["failed"], "#1565c0", "#555555")),
        title=f"{model}: {entry['metric']} vs size ({entry['measured_on']})",
        x_title="size (KiB)",
        y_title=entry["metric"],
        legend_at_bottom=True,
    )
    series: dict[str, list[dict[str, Any]]] = {"passes": [], "fails the gate": [], "not judged": []}
    for r in points:
        state = {True: "passes", False: "fails the gate", None: "not judged"}[r.get("passes")]
        series[state].append({"value": (r["size"] / 1024, r["value"]), "label": r["name"]})
    for name, values in series.items():
        chart.add(name, values)
    target = entry.get("quality_target")
    if isinstance(target, int | float):
        xs = [r["size"] / 1024 for r in points]
        chart.add("quality target", [(min(xs), target), (max(xs), target)], stroke=True, show_dots=False)
    return _svg(chart, f"evaluation-{model}")
