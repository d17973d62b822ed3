"""Time per Vela compile (zookit.vela.compile_for: Vela 5.2 as its own process, CSVs read back), on
MLCommons' four genuine MLPerf Tiny int8 models in ../shared/models/mlperf_tiny, for the two configurations
the shipped recipes name; and Vela alone (``vela`` with the same options, no zookit) for comparison.

Run from the repository with the project's virtualenv: .venv/bin/python bench/vela_bench.py [ZOO_DIR]
With ZOO_DIR (a zoo where `zoo ethos-u --all --recipes mlperf-tiny` ran), zookit's own int8 targets are
timed instead. Figures are printed, never asserted: the median of 3 runs each.
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


if __name__ == "__main__":
    main()
