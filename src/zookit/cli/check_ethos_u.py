"""`zoo check MODEL --ethos-u ACCELERATOR --system-config NAME --memory-mode NAME`: where each operator of
an int8 TFLite model runs on an Ethos-U NPU, as Vela places it, with Vela's reason for each one it leaves on
the CPU. Vela compiles the model into a temporary folder (nothing is kept); with ``--json`` one document.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from zookit.errors import UsageError
from zookit.recipe.ethos_u import VELA_CONFIG, config_path, config_sections


def check_ethos_u(args: argparse.Namespace) -> int:
    from zookit.vela import EthosUConfig, placement, vela_version

    vela_version()  # Vela missing: one line naming the extra, before its config file is looked for
    if not str(args.model).endswith(".tflite"):
        raise UsageError(f"{args.model}: --ethos-u checks a .tflite model (Vela compiles int8 TFLite)")
    if not Path(args.model).is_file():
        raise UsageError(f"{args.model}: no such file")
    for flag, value in (("--system-config", args.system_config), ("--memory-mode", args.memory_mode)):
        valid = _valid(args.vela_config, flag)
        if not value:
            raise UsageError(f"--ethos-u needs {flag} (valid: {', '.join(valid) or 'see the config file'})")
        if valid and value not in valid:
            raise UsageError(
                f"{flag} {value}: not defined in {args.vela_config or VELA_CONFIG}; valid: {', '.join(valid)}"
            )
    config = EthosUConfig(args.ethos_u, args.system_config, args.memory_mode, args.vela_config, args.optimise)
    rows = placement(Path(args.model), config)
    cpu = [r for r in rows if r["where"] == "CPU"]
    if args.json:
        document = {
            "model": str(args.model),
            "accelerator": config.accelerator,
            "system_config": config.system_config,
            "memory_mode": config.memory_mode,
            "config_file": config.config_name,
            "optimise": config.optimise,
            "operators": rows,
            "npu_operators": len(rows) - len(cpu),
            "cpu_operators": len(cpu),
        }
        print(json.dumps(document, indent=2))
    else:
        width = max([len(r["op"]) for r in rows] + [2])
        for r in rows:
            print(f"{r['where']}  {r['op']:<{width}}  {r['name']}")
        for r in cpu:
            print(f"cpu: {r['op']} at {r['name']}: {r['reason']}")
        print(
            f"{args.model}: {len(rows)} operator(s) on {config.accelerator} ({config.system_config}, "
            f"{config.memory_mode}): {len(rows) - len(cpu)} on the NPU, {len(cpu)} on the CPU"
        )
    return 1 if cpu and args.strict else 0


def _valid(config_file: str | None, flag: str) -> list[str]:
    """The names the config file defines for ``flag`` (none when it cannot be read: Vela says why)."""
    path = config_path(config_file)
    if path is None:
        raise UsageError(f"--vela-config {config_file or VELA_CONFIG}: not a readable Vela config file")
    try:
        sections = config_sections(path)
    except ValueError as exc:
        raise UsageError(f"--vela-config: {exc}") from None
    return sections["system_config" if flag == "--system-config" else "memory_mode"]
