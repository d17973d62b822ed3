"""Real Ethos-U package records for the report's tests, made by compiling int8 TFLite models with Arm's Vela
(``ethos-u-vela``) by hand: a tiny int8 model written here with the TFLite schema (a 3x3 convolution that
the NPU runs, then a FLOOR that Vela leaves on the CPU), or MLPerf Tiny's genuine int8 files.

``write_record`` is the one place that turns Vela's output into ``ethos_u.json`` (the keys the ``ethos_u``
deployer writes, issue 31): swap it for the deployer's stage once that is merged.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

# name of a configuration -> (accelerator, system configuration, memory mode) of Vela's own Arm/vela.ini
CONFIGS = {
    "u55-128": ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "u65-256": ("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram"),
}
CONFIG_FILE = "Arm/vela.ini"


def vela() -> str | None:
    """The ``vela`` command of this Python's environment (None when ethos-u-vela is not installed)."""
    return shutil.which("vela", path=str(Path(sys.executable).parent)) or shutil.which("vela")


def tiny_int8_model(path: Path, cpu_op: str = "FLOOR") -> Path:
    """An int8 TFLite model, input [1,16,16,4]: CONV_2D 3x3 to 8 channels with ReLU (on the NPU), then
    ``cpu_op`` (FLOOR: an operator type Vela does not place on the NPU)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT()
    model.version, model.buffers = 3, [s.BufferT()]

    def const(array: np.ndarray) -> int:
        buffer = s.BufferT()
        buffer.data = np.frombuffer(array.tobytes(), np.uint8)
        model.buffers.append(buffer)
        return len(model.buffers) - 1

    def tensor(name: str, shape: list[int], kind: int, buffer: int = 0, scale: float = 0.05) -> Any:
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), shape, kind, buffer
        t.quantization = s.QuantizationParametersT()
        t.quantization.scale, t.quantization.zeroPoint = [scale], [0]
        return t

    rng = np.random.default_rng(0)
    weights = rng.integers(-100, 100, (8, 3, 3, 4)).astype(np.int8)
    bias = rng.integers(-500, 500, (8,)).astype(np.int32)
    int8, int32 = s.TensorType.INT8, s.TensorType.INT32
    tensors = [
        tensor("input", [1, 16, 16, 4], int8),
        tensor("conv/weights", [8, 3, 3, 4], int8, const(weights), 0.01),
        tensor("conv/bias", [8], int32, const(bias), 0.0005),
        tensor("conv/relu", [1, 16, 16, 8], int8, 0, 0.1),
        tensor("output", [1, 16, 16, 8], int8, 0, 0.1),
    ]
    codes, operators = [], []
    for op, inputs, outputs in (("CONV_2D", [0, 1, 2], [3]), (cpu_op, [3], [4])):
        code = s.OperatorCodeT()
        code.builtinCode = getattr(s.BuiltinOperator, op)
        code.deprecatedBuiltinCode, code.version = min(code.builtinCode, 127), 1
        codes.append(code)
        operator = s.OperatorT()
        operator.opcodeIndex, operator.inputs, operator.outputs = len(codes) - 1, inputs, outputs
        operators.append(operator)
    operators[0].builtinOptionsType = s.BuiltinOptions.Conv2DOptions
    operators[0].builtinOptions = s.Conv2DOptionsT()
    operators[0].builtinOptions.padding, operators[0].builtinOptions.fusedActivationFunction = 0, 1
    operators[0].builtinOptions.strideW = operators[0].builtinOptions.strideH = 1
    graph = s.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = tensors, [0], [4], operators
    model.operatorCodes, model.subgraphs = codes, [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


FALLBACK = re.compile(r"operator: (?P<op>[^,]+), ofm: '(?P<name>[^']*)'\s*\n(?P<reasons>(?:Reason: .*\n?)+)")


def fallbacks(printed: str) -> list[dict[str, str]]:
    """The operators Vela left on the CPU, with its reasons, from what it printed."""
    out = []
    for m in FALLBACK.finditer(printed):
        reasons = [line.removeprefix("Reason: ").strip() for line in m["reasons"].splitlines() if line]
        out.append({"name": m["name"], "op": m["op"].strip(), "reason": "; ".join(reasons)})
    return out


def op(original: str, made: str) -> str:
    """A layer's operator as the deployer names it: the TFLite operator, with the operator Vela made of it
    in brackets when that differs ("Conv2D (Relu)", "Softmax (Sub)")."""
    return original if made in (original, "Passthrough") or original == "N/A" else f"{original} ({made})"


def write_record(
    model: Path, folder: Path, config: str, budgets: dict[str, float | None] | None = None
) -> dict[str, Any]:
    """Compile ``model`` with Vela for ``config`` (a name of CONFIGS) into ``folder`` and write the package
    record ``folder/ethos_u.json`` from Vela's summary CSV, its per-layer CSV and what it prints."""
    accelerator, system_config, memory_mode = CONFIGS[config]
    command = vela()
    assert command is not None, "ethos-u-vela is not installed"
    out = folder / "vela"
    printed = subprocess.run(
        [command, str(model), "--accelerator-config", accelerator, "--config", CONFIG_FILE,
         "--system-config", system_config, "--memory-mode", memory_mode, "--optimise", "Performance",
         "--output-dir", str(out), "--verbose-performance"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    text = printed.stdout + printed.stderr
    with next(out.glob("*_summary_*.csv")).open() as f:
        summary = next(csv.DictReader(f))
    with next(out.glob("*_per-layer.csv")).open() as f:
        per_layer = list(csv.DictReader(f))
    counts = {k: int(re.search(rf"{k} operators = (\d+)", text)[1]) for k in ("NPU", "CPU")}  # type: ignore[index]
    version = subprocess.run([command, "--version"], capture_output=True, text=True, check=True).stdout
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.tflite"))}
    record = {
        "deployer": "ethos_u",
        "target": folder.parent.parent.name,
        "accelerator": accelerator,
        "system_config": system_config,
        "memory_mode": memory_mode,
        "config_file": CONFIG_FILE,
        "optimise": "Performance",
        "vela_version": version.strip(),
        "files": files,
        "sram_kib": float(summary["sram_memory_used"]),
        "flash_kib": float(summary["off_chip_flash_memory_used"])
        + float(summary["on_chip_flash_memory_used"]),
        "inference_time_ms": float(summary["inference_time"]) * 1000,
        "cycles": int(float(summary["cycles_total"])),
        "npu_cycles": int(float(summary["cycles_npu"])),
        "macs": int(float(summary["nn_macs"])),
        "npu_operators": counts["NPU"],
        "cpu_operators": counts["CPU"],
        "cpu_fallbacks": fallbacks(text),
        "layers": [
            {
                "name": r["Name"],
                "op": op(r["Original Operator"], r["NNG Operator"]),
                "where": r["Target"],
                "cycles": int(r["Op Cycles"]),
                "macs": int(r["MAC Count"]),
                "utilisation": float(r["Util% (MAC)"])
                if r["Target"] == "NPU" and int(r["Op Cycles"])
                else None,
            }
            for r in per_layer
        ],
        "budgets": {"sram_kib": None, "flash_kib": None, **(budgets or {})},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (folder / "ethos_u.json").write_text(json.dumps(record, indent=1))
    return record
