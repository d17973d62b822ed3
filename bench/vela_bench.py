"""Time per Vela compile (zookit.vela.compile_for: Vela 5.2 as its own process, CSVs read back), on
MLCommons' four genuine MLPerf Tiny int8 models in ../shared/models/mlperf_tiny, for the two configurations
the shipped recipes name; and Vela alone (``vela`` with the same options, no zookit) for comparison.

Run from the repository with the project's virtualenv: .venv/bin/python bench/vela_bench.py [ZOO_DIR]
With ZOO_DIR (a zoo where `zoo ethos-u --all --recipes mlperf-tiny` ran), zookit's own int8 targets are
timed instead, and every ``ethos_u.json`` of the zoo is put beside Vela run by hand (the ``vela`` program,
same file, same options): SRAM, flash, DRAM, time, cycles, NPU/CPU operators, and whether all are equal.
Figures are printed, never asserted: the median of 3 runs each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from common import table, timed

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the repository (a worktree in /work/wt/NAME: $ZOO_SHARED_MODELS or /work/shared)
TINY = Path(os.environ.get("ZOO_SHARED_MODELS", REPO.parent / "shared" / "models")) / "mlperf_tiny"
GENUINE = {
    "ad_autoencoder": "anomaly_detection/trained_models/ad01_int8.tflite",
    "ic_resnet8": "image_classification/trained_models/pretrainedResnet_quant.tflite",
    "kws_dscnn": "keyword_spotting/trained_models/kws_ref_model.tflite",
    "vww_mobilenet": "visual_wake_words/trained_models/vww_96_int8.tflite",
}
CONFIGS = (
    ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    ("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram"),
)


def models(zoo: Path | None) -> dict[str, Path]:
    if zoo is not None:
        return {p.parent.parent.name: p for p in sorted(zoo.glob("*/tflite-int8/*.tflite"))}
    return {name: TINY / rel for name, rel in GENUINE.items() if (TINY / rel).is_file()}


def compile_timed(model: Path, config: Any, out: Path) -> tuple[float, Any]:
    from zookit.vela import compile_for

    return timed(partial(compile_for, model, config, out)), compile_for(model, config, out)


def main() -> None:
    from zookit.vela import EthosUConfig, vela_version

    zoo = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    found = models(zoo)
    if not found:
        print(f"no int8 models found ({zoo or TINY})")
        return
    vela = shutil.which("vela") or str(Path(sys.executable).parent / "vela")
    rows = []
    for name, model in found.items():
        for accelerator, system, memory in CONFIGS:
            config = EthosUConfig(accelerator, system, memory)
            with tempfile.TemporaryDirectory() as out:
                zookit_s, result = compile_timed(model, config, Path(out))
                alone = [vela, str(model), *config.arguments(), "--output-dir", out]
                vela_s = timed(partial(subprocess.run, alone, capture_output=True, check=True))
            f = result.figures
            rows.append(
                (
                    name,
                    accelerator,
                    f"{zookit_s:.2f}",
                    f"{vela_s:.2f}",
                    f"{f['sram_kib']:.2f}",
                    f"{f['flash_kib']:.2f}",
                    f"{f['dram_kib']:.2f}",
                    f"{f['inference_time_ms']:.4f}",
                    f"{f['npu_operators']}/{f['cpu_operators']}",
                )
            )
    print(
        f"Vela {vela_version()}; {'zookit int8 targets in ' + str(zoo) if zoo else 'MLCommons int8 models'}"
    )
    header = (
        "model",
        "config",
        "compile_for s",
        "vela s",
        "SRAM KiB",
        "flash KiB",
        "DRAM KiB",
        "ms",
        "NPU/CPU",
    )
    print(table(rows, header))


def by_hand(zoo: Path) -> None:
    """Each record of the zoo beside Vela's own summary CSV and printed counts for the same options."""
    import csv
    import json
    import re

    vela = shutil.which("vela") or str(Path(sys.executable).parent / "vela")
    rows = []
    for record_file in sorted(zoo.glob("*/*/ethos_u/*/ethos_u.json")):
        r = json.loads(record_file.read_text())
        model = (
            record_file.parents[2]
            / json.loads((record_file.parents[2] / "manifest.json").read_text())["output"]["file"]
        )
        with tempfile.TemporaryDirectory() as out:
            argv = [vela, str(model), "--accelerator-config", r["accelerator"], "--config", r["config_file"]]
            argv += ["--system-config", r["system_config"], "--memory-mode", r["memory_mode"]]
            argv += ["--optimise", r["optimise"], "--output-dir", out]
            printed = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
            with open(next(Path(out).glob("*_summary_*.csv")), newline="") as f:
                (v,) = csv.DictReader(f)
        counts = dict(re.findall(r"^(CPU|NPU) operators = (\d+)", printed, re.MULTILINE))
        hand = (
            float(v["sram_memory_used"]),
            float(v["off_chip_flash_memory_used"]) + float(v["on_chip_flash_memory_used"]),
            float(v["dram_memory_used"]),
            float(v["inference_time"]) * 1000,
            int(float(v["cycles_total"])),
            int(counts["NPU"]),
            int(counts["CPU"]),
        )
        keys = (
            "sram_kib",
            "flash_kib",
            "dram_kib",
            "inference_time_ms",
            "cycles",
            "npu_operators",
            "cpu_operators",
        )
        mine = tuple(r[k] for k in keys)
        shown = "{:.2f} / {:.2f} / {:.2f} / {:.4f} / {} / {} / {}"
        rows.append(
            (
                record_file.parts[-5],
                r["accelerator"],
                shown.format(*mine),
                shown.format(*hand),
                str(mine == hand),
            )
        )
    header = (
        "model",
        "config",
        "zookit: SRAM / flash / DRAM KiB / ms / cycles / NPU / CPU",
        "vela by hand",
        "equal",
    )
    print(table(rows, header))


if __name__ == "__main__":
    main()
    if len(sys.argv) > 1:
        by_hand(Path(sys.argv[1]))
