"""The page's charts: pygal charts rendered as SVG text, inlined in the page (no network at view time).

Text stays text (labels are SVG text: readable in the page's DOM), each chart's element id is made from its
own name so that several inline charts never share one, and pygal's script (the configuration of its
interactive layer, which the page does not load) is left out. pygal draws a chart in a few milliseconds
(matplotlib took 90-300 ms), so a report of 100 models draws all its charts in well under a second.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from typing import Any

COLORS = {"passed": "#2e7d32", "failed": "#c62828", "stale": "#ef6c00"}
_MAX_LAYERS = 60


def _style(colors: tuple[str, ...]) -> Any:
    from pygal.style import Style

    return Style(
        background="white",
        plot_background="white",
        font_family="sans-serif",
        label_font_size=9,
        major_label_font_size=9,
        title_font_size=11,
        legend_font_size=9,
        value_label_font_size=8,
        colors=colors,
    )


def _pygal() -> Any:
    """pygal, without the import hook it adds to ``sys.meta_path`` for its map plugins: the hook has no
    ``find_spec``, so every later import in the process warns (ImportWarning), and zookit needs no plugin."""
    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]
    return pygal


def _svg(chart: Any, salt: str) -> str:
    """The chart's SVG for inlining: its element id made from ``salt`` (pygal draws a random one, and the
    chart's style rules are scoped by it), without pygal's date comment and its script (the configuration
    of an interactive layer the page does not load), so that the same figures give the same text."""
    text = str(chart.render(is_unicode=True))
    random_id = re.search(r'id="(chart-[0-9a-f-]+)"', text)
    if random_id:
        text = text.replace(random_id.group(1), "chart-" + hashlib.sha256(salt.encode()).hexdigest()[:12])
    text = re.sub(r"<script\b.*?</script>", "", text, flags=re.S)
    return re.sub(r"<!--Generated with pygal.*?-->", "", text)


def size_vs_agreement(model: str, rows: list[dict[str, Any]]) -> str | None:
    """A model's targets: size (x) against top-1 agreement, or against the relative error when no target
    has an agreement figure (an autoencoder, a detector). None when no target has both figures."""
    pygal = _pygal()

    use_top1 = any(r.get("top1_agreement") is not None for r in rows)
    key = "top1_agreement" if use_top1 else "max_rel"
    points = [r for r in rows if r.get("size") is not None and r.get(key) is not None]
    if not points:
        return None
    log = not use_top1 and all(r[key] > 0 for r in points)
    chart = pygal.XY(
        stroke=False,
        width=460,
        height=280,
        print_labels=True,
        dots_size=5,
        truncate_label=-1,  # axis numbers whole
        x_label_rotation=30,
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,  # width and height on the svg: a flex item sizes to them
        style=_style((COLORS["passed"], COLORS["failed"], COLORS["stale"], "#555555")),
        title=f"{model}: size vs {'agreement' if use_top1 else 'error'} (grey: the limit)",
        x_title="size (KiB)",
        y_title="top-1 agreement" if use_top1 else "max_rel (error)" + (", log scale" if log else ""),
        legend_at_bottom=True,
    )
    if use_top1:
        low = min(min(r[key] for r in points), *((r.get("tolerance") or {}).get(key, 1.0) for r in points))
        chart.range = (max(0.0, low - 0.1), 1.05)

    def y(value: float) -> float:  # errors over decades are drawn on a log axis: its powers of ten labelled
        return math.log10(value) if log else value

    if log:
        ys = [y(r[key]) for r in points] + [
            y(t) for r in points if (t := (r.get("tolerance") or {}).get(key)) and t > 0
        ]
        chart.y_labels = [
            {"value": k, "label": f"1e{k}"} for k in range(math.floor(min(ys)), math.ceil(max(ys)) + 1)
        ]
    series: dict[str, list[dict[str, Any]]] = {"passed": [], "failed": [], "stale": [], "limit": []}
    for r in points:
        state = "failed" if r["status"] == "failed" else "stale" if r.get("stale") else "passed"
        x = r["size"] / 1024
        series[state].append({"value": (x, y(r[key])), "label": r["target"]})
        limit = (r.get("tolerance") or {}).get(key)
        if limit is not None and (limit > 0 or not log):
            series["limit"].append({"value": (x, y(limit)), "label": f"limit of {r['target']}"})
    for name, values in series.items():
        chart.add(name, values, print_labels=name != "limit", dots_size=3 if name == "limit" else 5)
    return _svg(chart, f"size-{model}")


def diagnosis(model: str, target: str, layers: list[dict[str, Any]]) -> str | None:
    """Per-layer SQNR (dB) of a quantization diagnosis, one horizontal bar per layer in model order
    (the worst layers when there are more than the chart has room for)."""
    pygal = _pygal()

    rows = [r for r in layers if r.get("sqnr_db") is not None]
    if not rows:
        return None
    if len(rows) > _MAX_LAYERS:
        worst = sorted(range(len(rows)), key=lambda i: rows[i]["sqnr_db"])[:_MAX_LAYERS]
        rows = [rows[i] for i in sorted(worst)]
    chart = pygal.HorizontalBar(
        width=640,
        height=int(80 + 19 * len(rows)),
        show_legend=False,
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,  # width and height on the svg: a flex item sizes to them
        style=_style(("#1565c0",)),
        title=f"{model} {target}: per-layer quantization error",
        x_title="SQNR (dB), higher is better; red: under 20 dB",
        truncate_label=48,
    )
    chart.x_labels = [str(r["name"])[:48] for r in rows]
    chart.add(
        "SQNR (dB)",
        [{"value": r["sqnr_db"], "color": "#c62828" if r["sqnr_db"] < 20 else "#1565c0"} for r in rows],
    )
    return _svg(chart, f"diag-{model}-{target}")
