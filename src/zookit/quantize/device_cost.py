"""What a diagnose candidate costs on the device, beside its accuracy: for a target TensorFlow Lite Micro
runs (``c_array: true``) the TFLM arena and flash, measured as the MCU deployer measures them (the same
function: deploy.mcu.package.measure); for an Arm Ethos-U configuration, Vela's NPU cycles, SRAM, flash
and the operators it leaves on the CPU (a layer kept in float is one of them; its CPU time is not in
Vela's cycles). Bounds (``--max-cycles-increase 10%`` ...) are relative to the all-int8 candidate: a
candidate over one is shown and marked, never chosen."""

from __future__ import annotations

import configparser
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zookit.errors import UsageError, ZooError
from zookit.recipe import Recipe, Target
from zookit.recipe.ethos_u import ACCELERATORS, config_path

Cost = dict[str, dict[str, Any]]  # {"tflm": {...}, "ethos_u": {...}}: the figures of each device measured

# --ethos-u ACCEL alone: a system configuration and memory mode of Vela's own vela.ini for its family
DEFAULT_SYSTEM = {
    "ethos-u55": ("Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "ethos-u65": ("Ethos_U65_High_End", "Dedicated_Sram"),
    "ethos-u85": ("Ethos_U85_SYS_DRAM_Mid", "Dedicated_Sram"),
}
VELA_TIMEOUT = 300  # seconds per compile (about 1 s for the MLPerf Tiny models)

# a bound's option -> (device, figure); every figure is "smaller is better"
BOUNDS = {
    "arena": ("tflm", "arena_bytes"),
    "flash": ("tflm", "flash_bytes"),
    "cycles": ("ethos_u", "cycles"),
    "sram": ("ethos_u", "sram_kib"),
}


@dataclass(frozen=True)
class EthosU:
    accelerator: str
    system_config: str
    memory_mode: str
    config_file: str | None = None  # Vela's own Arm/vela.ini, or the recipe's ethos_u.config_file
    optimise: str = "Performance"

    def __str__(self) -> str:
        return f"{self.accelerator},{self.system_config},{self.memory_mode}"


def from_recipe(recipe: Recipe, target: str) -> EthosU | None:
    """The first configuration of the recipe's ethos_u section when it compiles ``target`` (what the
    ethos_u stage will compile: the same config file and optimise strategy); None otherwise."""
    section = recipe.ethos_u
    if section is None or target not in section.targets:
        return None
    c = section.configs[0]
    return EthosU(c.accelerator, c.system_config, c.memory_mode, section.config_file, section.optimise)


@dataclass(frozen=True)
class Bound:
    figure: str  # a key of BOUNDS
    fraction: float  # the largest increase allowed over the all-int8 candidate (0.1: 10%)

    def __str__(self) -> str:
        return f"{self.figure} +{self.fraction:.0%} at most"


def vela_ini() -> Path:
    """Vela's own configuration file (its package's config_files/Arm/vela.ini)."""
    path = config_path(None)
    if path is None:
        raise ZooError("Vela (ethos-u-vela) is not installed: pip install 'zookit[ethos-u]'")
    return path


def parse_ethos_u(text: str) -> EthosU:
    """'ACCEL[,SYSTEM_CONFIG,MEMORY_MODE]', the names checked against Vela's list and vela.ini."""
    parts = [p.strip() for p in text.split(",")]
    accel = parts[0]
    if accel not in ACCELERATORS or len(parts) not in (1, 3):
        raise UsageError(
            f"--ethos-u {text!r}: give ACCEL[,SYSTEM_CONFIG,MEMORY_MODE], ACCEL one of {', '.join(ACCELERATORS)}"
        )
    system, memory = parts[1:] if len(parts) == 3 else DEFAULT_SYSTEM[accel.rsplit("-", 1)[0]]
    ini = configparser.ConfigParser()
    ini.read(vela_ini())
    for kind, name in (("System_Config", system), ("Memory_Mode", memory)):
        if f"{kind}.{name}" not in ini.sections():
            known = sorted(s.split(".", 1)[1] for s in ini.sections() if s.startswith(kind + "."))
            raise UsageError(
                f"--ethos-u {text!r}: {name!r} is not a {kind} of {vela_ini()} ({', '.join(known)})"
            )
    return EthosU(accel, system, memory)


def parse_bound(figure: str, text: str) -> Bound:
    """'10%' (or '10': per cent) for the option --max-FIGURE-increase."""
    number = text.strip().removesuffix("%")
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"--max-{figure}-increase {text!r}: give a percentage >= 0, e.g. 10%")
    return Bound(figure, value / 100)


def check_bounds(bounds: list[Bound], tflm: bool, ethos_u: EthosU | None, where: str) -> None:
    """A bound on a figure nothing measures for this target: one line saying what would."""
    for bound in bounds:
        device = BOUNDS[bound.figure][0]
        if device == "tflm" and not tflm:
            raise UsageError(
                f"--max-{bound.figure}-increase: {where} is not a c_array (TFLM) target; nothing measures "
                f"its {bound.figure}"
            )
        if device == "ethos_u" and ethos_u is None:
            raise UsageError(
                f"--max-{bound.figure}-increase: give --ethos-u ACCEL (Vela measures {bound.figure}; the "
                "recipe's ethos_u section does not compile this target)"
            )


def over_bounds(cost: Cost | None, base: Cost | None, bounds: list[Bound]) -> list[str]:
    """The bounds ``cost`` exceeds, relative to ``base`` (the all-int8 candidate), one phrase each."""
    out = []
    for bound in bounds:
        device, key = BOUNDS[bound.figure]
        got, ref = (cost or {}).get(device, {}).get(key), (base or {}).get(device, {}).get(key)
        tflm = (cost or {}).get("tflm", {})
        if device == "tflm" and tflm.get("runs") is False:
            out.append(f"{bound.figure}: TFLM cannot run this candidate ({tflm.get('reason')})")
            continue
        if got is None or ref is None:
            continue
        more = _more_on_cpu(cost, base)
        if bound.figure == "cycles" and more:  # fewer NPU cycles, but the CPU does the rest: not comparable
            out.append(f"cycles: {more} more operator(s) on the CPU, whose time Vela's cycles leave out")
            continue
        grew = (got - ref) / ref if ref else (math.inf if got > ref else 0.0)
        if grew > bound.fraction + 1e-12:
            out.append(
                f"{bound.figure} {got:g} is {grew:+.1%} over the all-int8 {ref:g} (bound +{bound.fraction:.0%})"
            )
    return out


def _more_on_cpu(cost: Cost | None, base: Cost | None) -> int:
    got = (cost or {}).get("ethos_u", {}).get("cpu_operators") or 0
    return max(0, got - ((base or {}).get("ethos_u", {}).get("cpu_operators") or 0))


def cost_function(recipe: Recipe, target: Target, ethos_u: EthosU | None) -> Callable[[bytes], Cost] | None:
    """The figures measured for every candidate of this target (None: no device to measure)."""
    if not target.c_array and ethos_u is None:
        return None

    def cost(model: bytes) -> Cost:
        out: Cost = {}
        if target.c_array:
            out["tflm"] = tflm_cost(recipe, target, model)
        if ethos_u is not None:
            out["ethos_u"] = _vela_cost(model, ethos_u)
        return out

    return cost


def tflm_cost(recipe: Recipe, target: Target, model: bytes) -> dict[str, Any]:
    """The arena and flash the `tflm` stage measures and records for ``model`` (the same function)."""
    from zookit.runtimes.tflm_footprint import measure

    try:
        figures = measure(recipe, target, model)
    except ZooError as exc:  # an op TFLM lacks, an allocation that fails: the candidate does not run
        return {"runs": False, "reason": str(exc)}
    return {"runs": True, "arena_bytes": figures["arena"]["measured"], "flash_bytes": figures["flash_bytes"]}


def _vela_cost(model: bytes, ethos_u: EthosU) -> dict[str, Any]:
    """Vela's estimate for ``model`` (the ethos_u deployer's own compile, zookit.vela): NPU cycles,
    SRAM/flash/DRAM used (KiB), NPU and CPU operators."""
    from zookit.vela import EthosUConfig, compile_for

    config = EthosUConfig(
        ethos_u.accelerator, ethos_u.system_config, ethos_u.memory_mode, ethos_u.config_file, ethos_u.optimise
    )
    with tempfile.TemporaryDirectory(prefix="zoo-vela-") as tmp:
        figures = compile_for(model, config, Path(tmp), stem="candidate", timeout=VELA_TIMEOUT).figures
    return {
        "config": str(ethos_u),
        "cycles": figures["cycles"],
        "inference_ms": round(figures["inference_time_ms"], 4),
        "sram_kib": figures["sram_kib"],
        "flash_kib": figures["flash_kib"],
        "dram_kib": figures["dram_kib"],
        "cpu_operators": figures["cpu_operators"],
        "npu_operators": figures["npu_operators"],
    }


def cost_text(cost: Cost | None) -> str:
    """One short phrase of a candidate's figures, for the terminal."""
    if not cost:
        return ""
    parts = []
    tflm = cost.get("tflm")
    if tflm:
        parts.append(
            f"arena {tflm['arena_bytes']} B flash {tflm['flash_bytes']} B"
            if tflm["runs"]
            else "TFLM: does not run"
        )
    npu = cost.get("ethos_u")
    if npu:
        parts.append(f"{npu['cycles']} cycles SRAM {npu['sram_kib']:g} KiB flash {npu['flash_kib']:g} KiB CPU ops "
                     f"{npu['cpu_operators']}")  # fmt: skip
    return "  ".join(parts)
