"""Reading what Vela wrote: its summary CSV, its per-layer CSV and the lines it printed.

Every figure is Vela's own, unrounded: SRAM and flash in KiB as its summary CSV has them
(``sram_memory_used``, ``off_chip_flash_memory_used`` + ``on_chip_flash_memory_used``), the inference time
(``inference_time``, seconds, at the configuration's clock), ``cycles_total``, ``cycles_npu``, ``nn_macs``.
The operator counts are the "CPU operators = N" / "NPU operators = N" lines it prints (its CSV has no such
column). A per-layer row's utilisation is Vela's "Util% (MAC)", left out (None) for a CPU row and for a row
of no cycles (where Vela writes 100 for 0/0).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from zookit.errors import ZooError

PER_LAYER_COLUMNS = 16  # Vela 5.2's per-layer CSV; "Name" is the last and is written unquoted
_COUNT = re.compile(r"^(CPU|NPU) operators = (\d+)", re.MULTILINE)
_WARNING = re.compile(r"^Warning \(supported operators\) operator: ([A-Z0-9_]+), ofm: '(.*)'$")


def summary_figures(path: Path) -> dict[str, Any]:
    """The figures of Vela's ``<network>_summary_<system config>.csv`` (its one row)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        row = rows[0]
        return {
            "sram_kib": float(row["sram_memory_used"]),
            "flash_kib": float(row["off_chip_flash_memory_used"]) + float(row["on_chip_flash_memory_used"]),
            "dram_kib": float(row["dram_memory_used"]),
            "inference_time_ms": float(row["inference_time"]) * 1000.0,
            "cycles": int(float(row["cycles_total"])),
            "npu_cycles": int(float(row["cycles_npu"])),
            "macs": int(float(row["nn_macs"])),
            "clock_hz": float(row["core_clock"]),
        }
    except (OSError, IndexError, KeyError, ValueError) as exc:
        raise ZooError(f"{path}: not Vela's summary CSV as Vela 5.2 writes it ({exc})") from None


def per_layer(path: Path) -> list[dict[str, Any]]:
    """The rows of Vela's ``<network>_per-layer.csv``: name, op, where (NPU/CPU), cycles, macs, utilisation.
    ``op`` is the TFLite operator as Vela names it, with the operator Vela made of it in brackets when that
    differs (a fused activation: "Conv2D (Relu)")."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ZooError(f"{path}: cannot read Vela's per-layer CSV ({exc})") from None
    header = lines[0].split(",") if lines else []
    if len(header) != PER_LAYER_COLUMNS or header[-1] != "Name":
        raise ZooError(f"{path}: not Vela's per-layer CSV as Vela 5.2 writes it (header {header})")
    col = {name: i for i, name in enumerate(header)}
    rows = []
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = line.split(",", PER_LAYER_COLUMNS - 1)  # the name may hold commas
        original, operator, where = (
            cells[col["Original Operator"]],
            cells[col["NNG Operator"]],
            cells[col["Target"]],
        )
        cycles = int(float(cells[col["Op Cycles"]]))
        op = (
            original
            if operator in (original, "Passthrough") or original == "N/A"
            else f"{original} ({operator})"
        )
        util = float(cells[col["Util% (MAC)"]])
        rows.append(
            {
                "name": cells[col["Name"]],
                "op": op,
                "where": "CPU" if where == "CPU" else "NPU",
                "cycles": cycles,
                "macs": int(float(cells[col["MAC Count"]])),
                "utilisation": util if where != "CPU" and cycles > 0 else None,
            }
        )
    return rows


def operator_counts(log: str) -> dict[str, int]:
    """``{"npu_operators": N, "cpu_operators": N}`` from the summary Vela printed."""
    counts = {f"{kind.lower()}_operators": int(n) for kind, n in _COUNT.findall(log)}
    if set(counts) != {"npu_operators", "cpu_operators"}:
        raise ZooError("Vela printed no 'CPU operators = N' / 'NPU operators = N' summary lines")
    return counts


def cpu_reasons(log: str) -> dict[str, dict[str, str]]:
    """Vela's reason for each operator it left on the CPU, by the operator's output (ofm) name:
    ``{name: {"op": "SPACE_TO_DEPTH", "reason": "Unsupported opType"}}``; a reason running over several
    lines (a constraint and its detail) is joined with "; "."""
    reasons: dict[str, dict[str, str]] = {}
    lines = log.splitlines()
    for i, line in enumerate(lines):
        found = _WARNING.match(line.strip())
        if not found:
            continue
        parts = []
        for follow in lines[i + 1 :]:
            text = follow.strip()
            if text.startswith("Reason:"):
                parts.append(text.removeprefix("Reason:").strip())
            elif text and follow[:1].isspace() and parts:
                parts.append(text)
            else:
                break
        reasons[found.group(2)] = {"op": found.group(1), "reason": "; ".join(p for p in parts if p)}
    return reasons
