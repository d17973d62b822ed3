"""The per-layer SQNR chart as a plain SVG (no plotting library): one bar per quantized layer, in model
order, the worst in red."""

from __future__ import annotations

from html import escape

from zookit.quantize.layers import Layer

ROW, LEFT, WIDTH = 16, 360, 420


def sqnr_svg(title: str, layers: list[Layer]) -> str:
    rows = sorted(layers, key=lambda layer: layer.index)
    finite = [layer.sqnr_db for layer in rows if layer.sqnr_db is not None]
    top = max([*finite, 1.0])
    worst = sorted(finite)[: max(1, len(finite) // 10)]
    height = 40 + ROW * len(rows) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 80}" height="{height}" '
        'font-family="monospace" font-size="11">',
        f'<text x="4" y="16" font-size="13">{escape(title)}: SQNR per quantized layer (dB, higher is better)</text>',
    ]
    for i, layer in enumerate(rows):
        y = 30 + i * ROW
        sqnr = layer.sqnr_db
        length = WIDTH if sqnr is None else max(1.0, WIDTH * max(sqnr, 0.0) / top)
        colour = "#c0392b" if sqnr is not None and sqnr in worst else "#2e86c1"
        label = layer.tensor.split(";")[0][-48:]
        value = "exact" if sqnr is None else f"{sqnr:.1f}"
        parts += [
            f'<text x="{LEFT - 4}" y="{y + 11}" text-anchor="end">{escape(layer.op)} {escape(label)}</text>',
            f'<rect x="{LEFT}" y="{y + 2}" width="{length:.1f}" height="{ROW - 4}" fill="{colour}"/>',
            f'<text x="{LEFT + length + 4:.1f}" y="{y + 11}">{value}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
