"""The Ethos-U deployer: one int8 TFLite target compiled by Vela for one configuration of the recipe's
``ethos_u`` section (stage ``ethos_u:<target>:<config>``), written whole (a staging folder swapped in) as
``zoo/<model>/<target>/ethos_u/<config>/``:

- ``<model>_<target>_vela.tflite``: Vela's model (the NPU's command stream in an ``ethos-u`` custom
  operator; TFLite Micro with the Ethos-U driver runs it, the CPU operators as TFLM kernels);
- ``<model>_<target>_vela_model_data.cc/.h``: the same bytes as a C array, ``alignas(16)`` (TFLite Micro
  reads the flatbuffer in place and the NPU's weights inside it must stay 16-byte aligned);
- Vela's own ``<...>_summary_<system config>.csv`` and ``<...>_per-layer.csv``;
- ``ethos_u.json``: the record (figures as Vela's summary gives them, every CPU fall-back with Vela's reason,
  the per-layer table, the budgets). A figure over a budget fails the stage and writes nothing.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zookit.convert.mcu import model_array
from zookit.deploy.common import DeployJob
from zookit.errors import ZooError
from zookit.fsutil import swap_in, temp_dir, write_json
from zookit.hashes import file_checksum
from zookit.layout import Layout
from zookit.recipe import Recipe
from zookit.recipe.ethos_u import Budgets, EthosU, config_path
from zookit.vela import EthosUConfig, VelaResult, compile_for

NAME = "ethos_u"
RECORD = "ethos_u.json"


def config_of(section: EthosU, label: str) -> EthosUConfig:
    c = section.config(label)
    return EthosUConfig(c.accelerator, c.system_config, c.memory_mode, section.config_file, section.optimise)


def reads(recipe: Recipe, target: str, variant: str) -> Any:
    """The recipe facts one stage reads: its configuration, the config file's bytes, the budgets."""
    section = recipe.ethos_u
    assert section is not None
    path = config_path(section.config_file)
    budgets = section.budgets_of(variant)
    return {
        "name": recipe.name,
        "target": target,
        "config": section.config(variant).model_dump(mode="json", exclude={"budgets"}),
        "config_file": section.config_file,
        "config_checksum": file_checksum(path) if path is not None else None,
        "optimise": section.optimise,
        "budgets": budgets.model_dump(mode="json") if budgets else None,
    }


def build(job: DeployJob) -> dict[str, Any]:
    recipe, section, target, label = job.recipe, job.recipe.ethos_u, job.target, job.variant
    assert section is not None and target is not None and label is not None
    layout = Layout(job.zoo_dir)
    source = layout.target(recipe.name, target) / job.manifest.output.file
    if file_checksum(source) != job.manifest.output.checksum:
        raise ZooError(f"{source} differs from its manifest; run `zoo convert {recipe.name}` again")
    config = config_of(section, label)
    dest = layout.target(recipe.name, target) / NAME / label
    dest.parent.mkdir(parents=True, exist_ok=True)
    # in the target's folder, where a killed run's ".ethos_u-*" is cleaned up (pipeline.run.remove_stale)
    staging = temp_dir(layout.target(recipe.name, target), f".{NAME}-")
    try:
        result = compile_for(source, config, staging, stem=f"{recipe.name}_{target}")
        budgets = section.budgets_of(label)
        check_budgets(result.figures, budgets, f"{target} on {label}")
        write_c_array(result.model.read_bytes(), staging, result.model.stem)
        record = package_record(result, config, target, budgets, staging, job.stage_key)
        write_json(staging / RECORD, record)
        swap_in(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def package_record(
    result: VelaResult,
    config: EthosUConfig,
    target: str,
    budgets: Budgets | None,
    folder: Path,
    stage_key: str | None,
) -> dict[str, Any]:
    """``ethos_u.json``: what Vela compiled (``result``) for ``config``, the files of ``folder`` (the
    package) with their checksums, and the budgets it was held to."""
    figures = result.figures
    return {
        "deployer": NAME,
        "target": target,
        "accelerator": config.accelerator,
        "system_config": config.system_config,
        "memory_mode": config.memory_mode,
        "config_file": config.config_name,
        "optimise": config.optimise,
        "vela_version": result.version,
        "files": {p.name: file_checksum(p) for p in sorted(folder.iterdir()) if p.is_file()},
        **{k: figures[k] for k in ("sram_kib", "flash_kib", "inference_time_ms", "cycles", "npu_cycles")},
        "dram_kib": figures["dram_kib"],  # Vela's DRAM used (a Dedicated_Sram U65 keeps its weights there)
        "macs": figures["macs"],
        "npu_operators": figures["npu_operators"],
        "cpu_operators": figures["cpu_operators"],
        "cpu_fallbacks": result.cpu_fallbacks,
        "layers": result.layers,
        "budgets": budgets.model_dump(mode="json") if budgets else None,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "stage_key": stage_key,  # the pipeline's: the record is current under this key only
    }


def check_budgets(figures: dict[str, Any], budgets: Budgets | None, where: str) -> None:
    """One line naming each figure over its limit (KiB, as Vela's summary reports them)."""
    if budgets is None:
        return
    over = [
        f"{label} {figures[key]:.2f} KiB > ethos_u budgets.{key} {limit:g}"
        for key, label, limit in (
            ("sram_kib", "SRAM", budgets.sram_kib),
            ("flash_kib", "flash", budgets.flash_kib),
        )
        if limit is not None and figures[key] > limit
    ]
    if over:
        raise ZooError(f"{where}: over the recipe's ethos_u budget: {'; '.join(over)}")


def write_c_array(model: bytes, folder: Path, base: str) -> None:
    """``<base>_model_data.cc/.h``: the Vela model as a 16-byte aligned C array."""
    model_array(
        model,
        folder,
        base,
        "a Vela-compiled TFLite model for an Arm Ethos-U NPU",
        "TFLite Micro reads the flatbuffer in place, the Ethos-U driver its weights",
    )


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The figures `zoo run` shows for a stage."""
    return {
        "sram_kib": round(record["sram_kib"], 2),
        "flash_kib": round(record["flash_kib"], 2),
        **({"dram_kib": round(record["dram_kib"], 2)} if record.get("dram_kib") else {}),
        "inference_time_ms": round(record["inference_time_ms"], 4),
        "npu_operators": record["npu_operators"],
        "cpu_operators": record["cpu_operators"],
    }
