"""The report's rows of a model's deploy packages (TIDL, TFLM per target, OpenVINO), from their records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.report.values import _dict, _list, _record, _worst, number


def tidl_row(folder: Path) -> dict[str, Any] | None:
    data, problem = _record(folder / "package.json")
    if data is None and problem is None:
        return None
    row: dict[str, Any] = {"deployer": "tidl", "stale": None}
    if data is None or not isinstance(data.get("files"), dict):
        return {**row, "status": "unreadable", "problem": problem or "package.json lists no files"}
    findings = [f for f in _list(data.get("check")) if isinstance(f, dict)]
    operators: dict[str, dict[str, Any]] = {}
    for f in findings:
        op = operators.setdefault(
            str(f.get("op")), {"op": str(f.get("op")), "arm": 0, "replaced": 0, "off": []}
        )
        where = "replaced" if f.get("where") == "replaced" else "arm"
        op[where] += 1
        if where == "arm":
            op["off"].append(
                {"node": str(f.get("node")), "reason": str(f.get("reason", "")), "row": f.get("row")}
            )
    missing = [str(m) for m in _list(data.get("missing"))]
    return {
        **row,
        "target": data.get("target"),
        "status": "ready" if data.get("ready_to_import") else "not ready",
        "problem": "; ".join(missing) or None,
        "ready_to_import": bool(data.get("ready_to_import")),
        "missing": missing,
        "files": len(data["files"]),
        "calibration_images": number(data.get("calibration_images")),
        "off_accelerator": sum(o["arm"] for o in operators.values()),
        "replaced": sum(o["replaced"] for o in operators.values()),
        "operators": sorted(operators.values(), key=lambda o: (-o["arm"], o["op"])),
        "created": data.get("created"),
    }


def tflm_row(folder: Path, target: str, mcu: dict[str, Any] | None) -> dict[str, Any] | None:
    data, problem = _record(folder / "tflm.json")
    if data is None and problem is None:
        return None
    row: dict[str, Any] = {"deployer": f"tflm:{target}", "target": target, "stale": None}
    if data is None:
        return {**row, "status": "unreadable", "problem": problem}
    arena, v = _dict(data.get("arena")), _dict(data.get("verification"))
    budgets = {k: number((mcu or {}).get(f"{k}_limit_kb")) for k in ("arena", "flash")}
    figures = {"arena": number(arena.get("measured")), "flash": number(data.get("flash_bytes"))}
    if figures["arena"] is None or figures["flash"] is None:
        return {**row, "status": "unreadable", "problem": "tflm.json holds no arena or flash figures"}
    over = [
        f"{k} {figures[k]} B over the budget of {budgets[k]} KiB"
        for k in figures
        if budgets[k] is not None and figures[k] > budgets[k] * 1024  # type: ignore[operator]
    ]
    return {
        **row,
        "status": "passed" if v.get("passed", True) and not over else "failed",
        "problem": "; ".join(over) or None,
        "arena_bytes": figures["arena"],
        "tensor_arena_size": number(arena.get("size")),
        "flash_bytes": figures["flash"],
        "arena_budget": budgets["arena"] * 1024 if budgets["arena"] is not None else None,
        "flash_budget": budgets["flash"] * 1024 if budgets["flash"] is not None else None,
        "ops": {str(k): number(n) for k, n in _dict(data.get("ops")).items()},
        "max_abs": _worst(v.get("outputs"), "max_abs"),
        "top1_agreement": number(v.get("top1_agreement")),
    }


def openvino_row(folder: Path) -> dict[str, Any] | None:
    data, problem = _record(folder / "package.json")
    if data is None and problem is None:
        return None
    row: dict[str, Any] = {"deployer": "openvino", "stale": None}
    if data is None or not isinstance(data.get("float"), dict):
        return {**row, "status": "unreadable", "problem": problem or "package.json has no float model"}
    out = {**row, "target": data.get("target"), "status": "passed", "problem": None}
    for kind in ("float", "int8"):
        variant = _dict(data.get(kind))
        v = _dict(variant.get("verification"))
        out[kind] = (
            {
                "bytes": number(variant.get("ir_bytes")),
                "max_abs": _worst(v.get("outputs"), "max_abs"),
                "top1_agreement": number(v.get("top1_agreement")),
                "latency_ms": number(_dict(variant.get("latency")).get("median_ms")),
            }
            if variant
            else None
        )
        if v.get("passed") is False:
            out.update(
                status="failed", problem="; ".join(map(str, _list(v.get("failures")))) or f"{kind} failed"
            )
    return out
