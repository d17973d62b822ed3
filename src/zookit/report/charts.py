"""The page's charts: matplotlib figures saved as SVG text, inlined in the page (no network at view time).

Text stays text (``svg.fonttype: none``: readable in the page's DOM and small), each chart's element ids
are salted with its own name so that several inline charts never share an id, and no pyplot state is
used (a Figure per chart, the SVG canvas only).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

VERSION = 1  # raised when a chart is drawn differently: cached drawings of the old kind are not used
COLORS = {"passed": "#2e7d32", "failed": "#c62828", "stale": "#ef6c00"}
_MAX_LAYERS = 60


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False})
    matplotlib.rcParams["axes.spines.right"] = False
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=72)
    fig.subplots_adjust(left=0.15, right=0.96, bottom=0.17, top=0.9)
    return fig


@functools.cache
def _matplotlib_version() -> str:
    """matplotlib's version without importing it (a cached chart needs no matplotlib)."""
    from importlib.metadata import version

    return version("matplotlib")


def cached(folder: Path | None, draw: Callable[..., str | None], *args: Any) -> str | None:
    """``draw(*args)``, or the SVG drawn before from the same figures (a chart takes matplotlib tens of
    milliseconds; a report of an unchanged zoo draws nothing again). ``folder`` None: no cache."""
    if folder is None:
        return draw(*args)
    text = json.dumps([draw.__name__, VERSION, _matplotlib_version(), args], sort_keys=True, default=str)
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.svg"
    try:
        return path.read_text(encoding="utf-8") or None
    except (OSError, UnicodeDecodeError):
        pass
    svg = draw(*args)
    try:
        from zookit.fsutil import write_text

        write_text(path, svg or "")
    except OSError:  # a cache that cannot be written only costs time
        pass
    return svg


def _svg(fig: Any, salt: str) -> str:
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    matplotlib.rcParams["svg.hashsalt"] = salt
    buffer = io.StringIO()
    FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None, "Creator": None})  # type: ignore[no-untyped-call]
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # the XML prolog and doctype do not belong inside HTML


def size_vs_agreement(model: str, rows: list[dict[str, Any]]) -> str | None:
    """A model's targets: size (x) against top-1 agreement, or against the relative error when no target
    has an agreement figure (an autoencoder, a detector). None when no target has both figures."""
    use_top1 = any(r.get("top1_agreement") is not None for r in rows)
    key = "top1_agreement" if use_top1 else "max_rel"
    points = [r for r in rows if r.get("size") is not None and r.get(key) is not None]
    if not points:
        return None
    fig = _figure(4.6, 2.6)
    ax = fig.add_subplot()
    for i, r in enumerate(points):
        color = (
            COLORS["failed"] if r["status"] == "failed" else COLORS["stale" if r.get("stale") else "passed"]
        )
        x, y = r["size"] / 1024, r[key]
        ax.scatter([x], [y], s=36, color=color, zorder=3)
        ax.annotate(r["target"], (x, y), textcoords="offset points", xytext=(5, 4 - 12 * (i % 2)), fontsize=8)
        limit = (r.get("tolerance") or {}).get(key)
        if limit is not None:
            ax.scatter([x], [limit], marker="_", s=160, color="#555555", zorder=2)
    ax.set_xlabel("size (KiB)")
    ax.set_ylabel("top-1 agreement" if use_top1 else "max_rel (error)")
    if use_top1:
        low = min(min(r[key] for r in points), *((r.get("tolerance") or {}).get(key, 1.0) for r in points))
        ax.set_ylim(max(0.0, low - 0.1), 1.05)
    elif all(r[key] > 0 for r in points):
        ax.set_yscale("log")
    if len({r["size"] for r in points}) > 1 and max(r["size"] for r in points) > 8 * min(
        r["size"] for r in points
    ):
        ax.set_xscale("log")
    ax.margins(x=0.25, y=0.15)
    ax.grid(alpha=0.3)
    ax.set_title(f"{model}: size vs {'agreement' if use_top1 else 'error'} (bar: the limit)", fontsize=9)
    return _svg(fig, f"size-{model}")


def diagnosis(model: str, target: str, layers: list[dict[str, Any]]) -> str | None:
    """Per-layer SQNR (dB) of a quantization diagnosis, one horizontal bar per layer in model order
    (the worst layers when there are more than the chart has room for)."""
    rows = [r for r in layers if r.get("sqnr_db") is not None]
    if not rows:
        return None
    if len(rows) > _MAX_LAYERS:
        worst = sorted(range(len(rows)), key=lambda i: rows[i]["sqnr_db"])[:_MAX_LAYERS]
        rows = [rows[i] for i in sorted(worst)]
    fig = _figure(6.4, 0.8 + 0.19 * len(rows))
    ax = fig.add_subplot()
    values = [r["sqnr_db"] for r in rows]
    ax.barh(range(len(rows)), values, color=["#c62828" if v < 20 else "#1565c0" for v in values])
    ax.set_yticks(range(len(rows)), [str(r["name"])[:48] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("SQNR (dB), higher is better; red: under 20 dB")
    ax.set_title(f"{model} {target}: per-layer quantization error", fontsize=9)
    return _svg(fig, f"diag-{model}-{target}")
