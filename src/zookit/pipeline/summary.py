"""The run summary: one row per stage, with the figures a reader needs next to each other (a target's
error beside the upstream model's error on the same samples, and what the samples were)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# the figures of a stage's detail shown in its row, in this order, with their label
SHOWN = {
    "arena_bytes": "arena",
    "flash_bytes": "flash",
    "ops": "ops",
    "max_abs": "max_abs",
    "max_rel": "max_rel",
    "top1_agreement": "top1_agreement",
    "ref_kernels_top1_agreement": "(LiteRT reference kernels:",
    "real_top1": "top-1/top-5 on real",
    "detections_matched": "detections_matched",
    "anchors_diff": "anchors vs file's",
    "ref_differing": "vs LiteRT ref: differing",
    "ref_max_step": "max step",
    "ref_max_abs": "max abs",
    "files": "files",
    "ready_to_import": "ready_to_import",
}


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def figures_text(detail: dict[str, Any]) -> str:
    """A stage's figures as one line: ``max_abs 5.08 (upstream ad01_int8.tflite: 16.1)``, and the data
    the figures come from when it is worth saying (random data only)."""
    from zookit.deploy import DEPLOYERS

    shown = SHOWN | {k: v for d in DEPLOYERS.values() for k, v in d.shown.items()}
    parts = []
    for key, label in shown.items():
        value = detail.get(key)
        if value is None:
            continue
        text = f"{label} {_number(value)}"
        if key in ("arena_bytes", "flash_bytes"):
            text += " B"
        if key == "real_top1" and detail.get("real_top5") is not None:
            text += f"/{_number(detail['real_top5'])}"
        if key == "ref_kernels_top1_agreement":
            text += ")"
        if key in ("max_abs", "max_rel") and detail.get(f"upstream_{key}") is not None:
            text += f" (upstream {detail.get('upstream', 'model')}: {_number(detail[f'upstream_{key}'])})"
        parts.append(text)
    if detail.get("classes"):
        parts.append(f"classes {detail['classes']}")
    if detail.get("evaluation"):  # the evaluate stage: figures on a labelled set, or why there are none
        parts.append(detail["evaluation"])
    data = detail.get("data")
    if data and data.startswith("random"):
        parts.append(data)
    text = ", ".join(parts).replace(", (LiteRT reference kernels:", " (LiteRT reference kernels:")
    on = detail.get("measured_on")  # the samples and the runtime every figure of the row was measured on
    return f"{text}; {on}" if on and text else text


def _last_column(stage: Any) -> str:
    """A stage's figures; a failed stage's error (its first line); a stage a failure stopped: which."""
    if stage.status == "failed":
        return str(stage.error.splitlines()[0][:100]) if stage.error else "failed"
    if stage.error:  # a deployer left out for a missing library says which extra
        return str(stage.error.splitlines()[0][:100])
    if getattr(stage, "reason", ""):
        return f"not run: {stage.reason}"
    return figures_text(stage.detail)


def summary_table(results: list[Any]) -> str:
    rows = [("model", "stage", "status", "time", "size", "figures")]
    for r in results:
        for s in r.stages:
            size = s.detail.get("size") or s.detail.get("bytes")
            rows.append(
                (
                    r.model,
                    s.stage,
                    s.status,
                    f"{s.seconds:.1f}s",
                    f"{size / 1e6:.1f} MB" if size else "",
                    _last_column(s),
                )
            )
    return "\n".join(columns(rows))


def columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as text lines, each column as wide as its widest cell (the first row: the heads)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
