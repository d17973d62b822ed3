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

_MAX_LAYERS = 60


# Chart text in SVG pixels: at least the page's small text (.lim, 0.85 x 14 px = 11.9 px). The page never
# scales a chart down (a narrow window scrolls it sideways), so these are the sizes a reader sees.
TEXT_PX, TITLE_PX = 12, 14
# one colour per target (the status is written beside the target's name in the legend); grey: limits
TARGET_COLORS = ("#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#558b2f", "#283593", "#ef6c00")
LIMIT_COLOR = "#9e9e9e"


def _style(colors: tuple[str, ...]) -> Any:
    from pygal.style import Style

    return Style(
        background="white",
        plot_background="white",
        font_family="sans-serif",
        label_font_size=TEXT_PX,
        major_label_font_size=TEXT_PX,
        title_font_size=TITLE_PX,
        legend_font_size=TEXT_PX,
        value_label_font_size=TEXT_PX,
        value_font_size=TEXT_PX,
        tooltip_font_size=TEXT_PX,
        no_data_font_size=TITLE_PX,
        colors=colors,
    )


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round axis values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten, about
    ``count`` of them (a single value gets a range around it)."""
    if high <= low:
        low, high = (low - 1, high + 1) if low == 0 else (low - abs(low) / 2, high + abs(high) / 2)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9) * step
    out = [first]
    while out[-1] < high - 1e-9 * step:
        out.append(first + len(out) * step)
    return [round(v, 12) for v in out]


def tick_label(value: float) -> str:
    """An axis number as people write it: ``0``, ``2.5``, ``0.85``, ``4000`` (never ``3485.745117``)."""
    return f"{value:.6g}"


def _labels(values: list[float]) -> list[dict[str, Any]]:
    return [{"value": v, "label": tick_label(v)} for v in values]


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


def _state(row: dict[str, Any]) -> str:
    if row["status"] == "failed":
        return " (failed)"
    return " (out of date)" if row.get("stale") else ""


def size_vs_agreement(model: str, rows: list[dict[str, Any]]) -> str | None:
    """A model's targets: size (x) against top-1 agreement, or against the relative error when no target
    has an agreement figure (an autoencoder, a detector). One colour per target, named in the legend with
    its state; each target's limit a grey dot above or below it. None when no target has both figures."""
    pygal = _pygal()

    use_top1 = any(r.get("top1_agreement") is not None for r in rows)
    key = "top1_agreement" if use_top1 else "max_rel"
    points = [r for r in rows if r.get("size") is not None and r.get(key) is not None]
    if not points:
        return None
    log = not use_top1 and all(r[key] > 0 for r in points)

    def y(value: float) -> float:  # errors over decades are drawn on a log axis: its powers of ten labelled
        return math.log10(value) if log else value

    limits = [
        (r, limit)
        for r in points
        if (limit := (r.get("tolerance") or {}).get(key)) is not None and (limit > 0 or not log)
    ]
    ys = [y(r[key]) for r in points] + [y(limit) for _, limit in limits]
    if log:
        y_labels = [
            {"value": k, "label": f"1e{k}"} for k in range(math.floor(min(ys)), math.ceil(max(ys)) + 1)
        ]
    elif use_top1:
        y_labels = _labels(ticks(max(0.0, min(ys) - 0.05), 1.0, 4))
    else:
        y_labels = _labels(ticks(min(0.0, *ys), max(ys), 4))
    x_values = ticks(0.0, max(r["size"] / 1024 for r in points), 4)
    chart = pygal.XY(
        stroke=False,
        width=560,
        height=300 + 18 * (len(points) + bool(limits)),  # one legend row each
        dots_size=6,
        truncate_label=-1,
        truncate_legend=-1,
        legend_at_bottom=True,
        legend_at_bottom_columns=1,  # pygal makes room for whole rows only: one entry a row
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,  # width and height on the svg: a flex item sizes to them
        style=_style((*(TARGET_COLORS[i % len(TARGET_COLORS)] for i in range(len(points))), LIMIT_COLOR)),
        title=f"{model}: size vs {'top-1 agreement' if use_top1 else 'error'}",
        x_title="size (KiB)",
        y_title="top-1 agreement" if use_top1 else "max_rel" + (" (log scale)" if log else ""),
        xrange=(x_values[0], x_values[-1]),
        range=(y_labels[0]["value"], y_labels[-1]["value"]),
        x_labels=_labels(x_values),
        y_labels=y_labels,
        x_value_formatter=lambda x: f"{x:.4g} KiB",  # the points' own descriptions, rounded too
        value_formatter=lambda v: f"{v:.3g}",
    )
    for r in points:
        chart.add(r["target"] + _state(r), [{"value": (r["size"] / 1024, y(r[key])), "label": r["target"]}])
    if limits:
        chart.add(
            "limit (grey dots)",
            [
                {"value": (r["size"] / 1024, y(limit)), "label": f"limit of {r['target']}"}
                for r, limit in limits
            ],
            dots_size=4,
        )
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
        width=720,
        height=int(110 + 24 * len(rows)),
        show_legend=False,
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,  # width and height on the svg: a flex item sizes to them
        style=_style(("#1565c0",)),
        title=f"{model} {target}: per-layer quantization error",
        x_title="SQNR (dB), higher is better; red: under 20 dB",
        truncate_label=40,
    )
    chart.x_labels = [str(r["name"])[:40] for r in rows]
    chart.add(
        "SQNR (dB)",
        [{"value": r["sqnr_db"], "color": "#c62828" if r["sqnr_db"] < 20 else "#1565c0"} for r in rows],
    )
    return _svg(chart, f"diag-{model}-{target}")


NPU_COLOR, CPU_COLOR = "#1565c0", "#ef6c00"


def _layer_label(layer: dict[str, Any]) -> str:
    """A layer as the chart names it: its first tensor name (Vela's names join fused ones with ';'),
    its end kept when long (the end names the layer), and its operator."""
    name = str(layer["name"]).split(";")[0] or "?"
    name = name if len(name) <= 40 else "…" + name[-39:]
    return f"{name} · {str(layer['op'])[:20]}" + (" · CPU" if layer.get("where") == "CPU" else "")


def _operators(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Vela's rows of one original operator (a softmax is a dozen NPU operations, a convolution its
    activation) joined into one: consecutive rows of the same operator, place and name (the name without
    the suffix Vela gives the parts), cycles added."""
    out: list[dict[str, Any]] = []
    for r in layers:
        op = str(r.get("op")).split(" (")[0]  # "Softmax (Sub)": a part Vela made of a Softmax
        # Vela names an operator's parts NAME_softmax_3, NAME_softmax_26_broadcasted
        key = (re.sub(rf"_{re.escape(op.lower())}_\d+(_\w+)?$", "", str(r.get("name"))), op, r.get("where"))
        if out and (out[-1]["name"], out[-1]["op"], out[-1]["where"]) == key:
            out[-1]["cycles"] += r.get("cycles") or 0
        else:
            out.append({"name": key[0], "op": key[1], "where": key[2], "cycles": r.get("cycles") or 0})
    return out


def ethos_u_layers(model: str, row: dict[str, Any]) -> str | None:
    """Vela's cycles per operator of one Ethos-U package, one horizontal bar each, the first at the top,
    blue on the NPU and orange on the CPU (Vela estimates no cycles for CPU operators: their bars are
    empty, their names end in CPU). Operators of no cycles on the NPU are left out; when there are more
    than the chart has room for, the CPU operators and the NPU operators of most cycles are drawn."""
    pygal = _pygal()

    layers = [r for r in _operators(row.get("layers") or []) if r["where"] == "CPU" or r["cycles"] > 0]
    if not layers:
        return None
    if len(layers) > _MAX_LAYERS:  # every CPU operator is kept, and the NPU operators of most cycles
        order = sorted(range(len(layers)), key=lambda i: (layers[i]["where"] != "CPU", -layers[i]["cycles"]))
        layers = [layers[i] for i in sorted(order[:_MAX_LAYERS])]
    layers.reverse()  # pygal draws the first bar at the bottom
    x_values = ticks(0.0, float(max(r["cycles"] for r in layers)), 4)
    chart = pygal.HorizontalStackedBar(
        width=800,
        height=int(150 + 24 * len(layers)),
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,  # width and height on the svg: a flex item sizes to them
        style=_style((NPU_COLOR, CPU_COLOR)),
        title=f"{model} {row['target']} {row['config']}: cycles per operator",
        x_title=f"cycles (Vela's estimate, {row.get('accelerator') or 'Ethos-U'})",
        truncate_label=-1,
        truncate_legend=-1,
        range=(x_values[0], x_values[-1]),
        y_labels=_labels(x_values),
        value_formatter=lambda v: f"{v:,.0f}",
    )
    chart.x_labels = [_layer_label(r) for r in layers]
    chart.add("NPU", [r["cycles"] if r["where"] != "CPU" else None for r in layers])
    chart.add("CPU (no estimate)", [0 if r["where"] == "CPU" else None for r in layers])
    return _svg(chart, f"ethos-u-{model}-{row['target']}-{row['config']}")
