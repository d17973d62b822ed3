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
    """Each artefact's figure (y) against its size (x), one colour per artefact named in the legend with
    whether it passes the gate; the quality target as a grey line. Styled as the page's other charts
    (text at least the page's small text, round axis numbers, no labels on the points to overlap)."""
    from zookit.report.charts import LIMIT_COLOR, TARGET_COLORS, _labels, _pygal, _style, _svg, ticks

    pygal = _pygal()
    points = [r for r in entry["figures"] if r.get("size") and isinstance(r.get("value"), int | float)]
    if not points:
        return None
    target = entry.get("quality_target")
    has_target = isinstance(target, int | float)
    ys = [r["value"] for r in points] + ([target] if has_target else [])
    y_values = ticks(max(0.0, min(ys) - 0.05), min(1.0, max(ys) + 0.02) if max(ys) <= 1 else max(ys), 4)
    x_values = ticks(0.0, max(r["size"] / 1024 for r in points), 4)
    chart = pygal.XY(
        stroke=False,
        width=560,
        height=300 + 18 * (len(points) + has_target),  # one legend row each
        dots_size=6,
        truncate_label=-1,
        truncate_legend=-1,
        legend_at_bottom=True,
        legend_at_bottom_columns=1,
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,
        style=_style((*(TARGET_COLORS[i % len(TARGET_COLORS)] for i in range(len(points))), LIMIT_COLOR)),
        title=f"{model}: {entry['metric']} vs size",
        x_title="size (KiB)",
        y_title=f"{entry['metric']} ({entry['measured_on']})",
        xrange=(x_values[0], x_values[-1]),
        range=(y_values[0], y_values[-1]),
        x_labels=_labels(x_values),
        y_labels=_labels(y_values),
        x_value_formatter=lambda x: f"{x:.4g} KiB",
        value_formatter=lambda v: f"{v:.3g}",
    )
    for r in points:
        state = {True: "passes", False: "fails the gate", None: "not judged"}[r.get("passes")]
        chart.add(f"{r['name']} ({state})", [{"value": (r["size"] / 1024, r["value"]), "label": r["name"]}])
    if has_target:
        chart.add(
            "quality target",
            [(x_values[0], target), (x_values[-1], target)],
            stroke=True,
            show_dots=False,
        )
    return _svg(chart, f"evaluation-{model}")
