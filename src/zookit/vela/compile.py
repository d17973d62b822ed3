"""One Vela compile: a TFLite model, one configuration, an output folder; Vela's figures read back.

Vela runs as its own program (``python -m ethosu.vela``, this interpreter) so a hang is cut by the timeout
and its C++ core's output is captured. Every option it would default is named, so its "Compilation may be
invalid or non-optimal" warning never applies: ``--config``, ``--system-config``, ``--memory-mode``,
``--accelerator-config``, ``--optimise``; plus ``--verbose-performance`` (its per-layer CSV).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zookit.errors import UsageError, ZooError
from zookit.recipe.ethos_u import (
    ACCELERATORS,
    VELA_CONFIG,
    EthosUTarget,
    config_path,
    config_problems,
    config_sections,
)
from zookit.vela import parse

DISTRIBUTION = "ethos-u-vela"
EXTRA = "ethos-u"
TIMEOUT = 600.0


@dataclass(frozen=True)
class EthosUConfig:
    """What Vela is told: the NPU, the system configuration and memory mode of ``config_file`` (None:
    Vela's own Arm/vela.ini), and the optimisation strategy."""

    accelerator: str
    system_config: str
    memory_mode: str
    config_file: str | None = None
    optimise: str = "Performance"

    @property
    def config_name(self) -> str:
        return self.config_file or VELA_CONFIG

    def arguments(self) -> list[str]:
        """Vela's options for this configuration (the config file resolved to a path)."""
        path = self.resolved_config()
        return [
            "--accelerator-config",
            self.accelerator,
            "--config",
            str(path),
            "--system-config",
            self.system_config,
            "--memory-mode",
            self.memory_mode,
            "--optimise",
            self.optimise,
        ]

    def resolved_config(self) -> Path:
        """The config file, checked to define the system configuration and memory mode (UsageError, one
        line naming the field and the valid names, when it does not)."""
        path = config_path(self.config_file)
        if path is None:
            raise UsageError(f"config_file: {self.config_name!r} is not a readable Vela config file")
        try:
            sections = config_sections(path)
        except ValueError as exc:
            raise UsageError(f"config_file: {exc}") from None
        try:
            as_target = EthosUTarget(
                accelerator=self.accelerator,
                system_config=self.system_config,
                memory_mode=self.memory_mode,
            )
        except ValueError:
            raise UsageError(
                f"accelerator: {self.accelerator!r} is not one of Vela's: {', '.join(ACCELERATORS)}"
            ) from None
        problems = config_problems("ethos_u", as_target, sections, self.config_name)
        if problems:
            raise UsageError(problems[0])
        return path


@dataclass
class VelaResult:
    """A compile's files and Vela's figures (zookit.vela.parse)."""

    model: Path  # <stem>_vela.tflite
    summary_csv: Path
    per_layer_csv: Path
    figures: dict[str, Any]  # summary figures and the operator counts
    layers: list[dict[str, Any]]
    cpu_fallbacks: list[dict[str, str]]  # name, op, reason: every operator left on the CPU
    log: str
    seconds: float
    version: str = field(default="")


def vela_version() -> str:
    """The installed Vela's version; ModuleNotFoundError (naming the distribution, so zookit names the
    ``ethos-u`` extra) when Vela is missing or cannot be imported."""
    from importlib import metadata

    try:
        import ethosu.vela  # noqa: F401  (the program run below; fails here if it cannot import)

        return metadata.version(DISTRIBUTION)
    except (ImportError, metadata.PackageNotFoundError) as exc:
        raise ModuleNotFoundError(
            f"Vela ({DISTRIBUTION}) cannot be imported ({exc}): install the '{EXTRA}' extra "
            f"(pip install 'zookit[{EXTRA}]')",
            name=DISTRIBUTION.replace("-", "_"),
        ) from None


def compile_for(
    model: Path | bytes,
    config: EthosUConfig,
    out_dir: Path,
    *,
    stem: str | None = None,
    timeout: float = TIMEOUT,
) -> VelaResult:
    """Compile ``model`` (a .tflite file or its bytes) for ``config`` into ``out_dir``: Vela's
    ``<stem>_vela.tflite``, ``<stem>_summary_<system config>.csv`` and ``<stem>_per-layer.csv``
    (``stem``: the file's stem, or "model" for bytes)."""
    version = vela_version()
    arguments = config.arguments()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".vela-in-", dir=out_dir) as work:
        name = stem or (model.stem if isinstance(model, Path) else "model")
        source = Path(work) / f"{name}.tflite"
        if isinstance(model, Path):
            try:
                shutil.copyfile(model, source)
            except OSError as exc:
                raise ZooError(f"{model}: cannot read the model ({exc.strerror or exc})") from None
        else:
            source.write_bytes(model)
        command = [sys.executable, "-m", "ethosu.vela", str(source), *arguments, "--output-dir", str(out_dir)]
        # not --show-cpu-operations: with it Vela 5.2 counts the operators it made (a fused activation
        # counts again: ad01's 10 FULLY_CONNECTED become "NPU operators = 19"), without it the
        # TFLite operators (10); the fall-back lines and the per-layer CSV name them either way
        command += ["--verbose-performance"]
        started = time.monotonic()
        try:
            done = subprocess.run(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ZooError(f"Vela did not finish compiling {name} within {timeout:g} s") from None
        seconds = time.monotonic() - started
    log = done.stdout
    if done.returncode != 0:
        last = [line for line in log.splitlines() if line.strip()][-1:] or ["(no output)"]
        raise ZooError(f"Vela failed on {name} for {config.accelerator} (exit {done.returncode}): {last[0]}")
    return _result(out_dir, name, config, log, seconds, version)


def _result(
    out_dir: Path, name: str, config: EthosUConfig, log: str, seconds: float, version: str
) -> VelaResult:
    summary_csv = out_dir / f"{name}_summary_{config.system_config}.csv"
    per_layer_csv = out_dir / f"{name}_per-layer.csv"
    figures = parse.summary_figures(summary_csv) | parse.operator_counts(log)
    layers = parse.per_layer(per_layer_csv)
    reasons = parse.cpu_reasons(log)
    fallbacks, seen = [], set()
    for layer in layers:
        if layer["where"] != "CPU" or layer["name"] in seen:
            continue
        seen.add(layer["name"])
        said = reasons.get(layer["name"], {})
        fallbacks.append(
            {
                "name": layer["name"],
                "op": said.get("op", layer["op"]),
                "reason": said.get("reason") or "Vela placed it on the CPU and printed no reason",
            }
        )
    return VelaResult(
        model=out_dir / f"{name}_vela.tflite",
        summary_csv=summary_csv,
        per_layer_csv=per_layer_csv,
        figures=figures,
        layers=layers,
        cpu_fallbacks=fallbacks,
        log=log,
        seconds=seconds,
        version=version,
    )


def placement(model: Path | bytes, config: EthosUConfig, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Where each operator of ``model`` runs under ``config`` as Vela decides it (compiled into a temporary
    folder, nothing kept): ``{"name", "op", "where": "NPU"|"CPU", "reason"}`` per operator, in Vela's order
    (an operator Vela split or fused into several rows is listed once, under its TFLite operator)."""
    with tempfile.TemporaryDirectory(prefix="zookit-vela-") as out:
        result = compile_for(model, config, Path(out), timeout=timeout)
    reasons = {f["name"]: f for f in result.cpu_fallbacks}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for layer in result.layers:
        if layer["name"] in seen:
            continue
        seen.add(layer["name"])
        fallback = reasons.get(layer["name"])
        rows.append(
            {
                "name": layer["name"],
                "op": fallback["op"] if fallback else layer["op"].split(" (")[0],
                "where": layer["where"],
                "reason": fallback["reason"] if fallback else None,
            }
        )
    return rows
