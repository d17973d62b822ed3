"""Deployers: packages a device toolchain imports, made from a converted and verified target.

The deployer table DEPLOYERS maps a name (the package's folder in ``zoo/<model>/`` and the stage's name
in ``zoo run``) to what the pipeline needs: whether a recipe deploys there (its recipe section), the
target it packages, the recipe facts the package reads (they make the stage key, so editing anything
else keeps the package) and the function that writes it. A second deployer is its own module under
``deploy/`` and one entry here; the pipeline runs every deployer whose section a recipe has.

A deployer with ``targets`` deploys each of the targets it names: one stage ``<name>:<target>`` each,
its record (``<name>.json``) in the target's own folder, beside the converted file (TFLM: the firmware
headers go beside the C array).

A deployer with ``variants`` as well compiles each target once per variant (ethos_u: per NPU configuration):
one stage ``<name>:<target>:<variant>`` each, recorded as ``<name>.json`` in ``<target>/<name>/<variant>/``,
its key made of ``reads_variant`` (that variant's recipe facts) so editing another variant keeps it.

A deployer's static facts (its name, the libraries it runs, whose versions join its stage key, and the
extra that installs them) are its row in ``zookit.deployer_facts``, which what lies below the deployers
reads (a missing library's message, the folder names a recipe's targets may not take); its entry here
takes them from that row (``facts``) and gives the labels its figures have in the run summary
(``shown``). Its recipe section is a field of ``Recipe`` marked ``json_schema_extra=DEPLOY`` (no
conversion reads it); a staging folder ``.<name>-*`` in the model's folder is a leftover of a killed run.

A deployer's modules import ``deploy.common`` (``DeployJob``), never this table nor another deployer
(``.importlinter``): the table imports each deployer only inside the functions that build it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zookit.deploy.common import DeployJob
from zookit.deployer_facts import DEPLOYER_FACTS, DeployerFacts
from zookit.recipe import Recipe
from zookit.records import Package


def _package_figures(record: dict[str, Any]) -> dict[str, Any]:
    return Package(record).summary()


@dataclass(frozen=True, kw_only=True)
class Deployer:
    section: Callable[[Recipe], Any]  # the recipe's settings for this deployer; None: not deployed here
    target: Callable[[Recipe], str] | None = None  # the name of the target it packages
    # or: the targets it deploys, one stage each (``<name>:<target>``), recorded in the target's folder
    targets: Callable[[Recipe], list[str]] | None = None
    # and, per target, its configurations, one stage each (``<name>:<target>:<variant>``), recorded as
    # ``<name>.json`` in ``<target folder>/<name>/<variant>/``; their own recipe facts make each key
    variants: Callable[[Recipe, str], list[str]] | None = None
    reads_variant: Callable[[Recipe, str, str], Any] | None = None
    reads: Callable[[Recipe], Any]  # the recipe facts the package is made from
    build: Callable[[DeployJob], dict[str, Any]]  # writes the package, returns its record
    # the deployer's own tool folder from the run's options (part of the key), None when it has none
    tools: Callable[[Any], Path | None] = lambda options: None
    # the images (or samples) the package is made with, from the run's options; None: the shipped set
    images: Callable[[Any], Path | None] = lambda options: options.calibration_images
    figures: Callable[[dict[str, Any]], dict[str, Any]] = _package_figures  # its record, for the report
    # the package format, part of the key: raised when the deployer writes its package differently, so
    # packages written before are written again
    version: int = 1
    # its row of deployer_facts: the libraries it runs (their versions are part of its stage key) and the
    # zookit extra that installs them
    facts: DeployerFacts = field(default_factory=DeployerFacts)
    shown: dict[str, str] = field(default_factory=dict)  # labels of its figures in the run summary

    @property
    def packages(self) -> tuple[str, ...]:
        return self.facts.packages

    @property
    def extra(self) -> str | None:
        return self.facts.extra

    def target_names(self, recipe: Recipe) -> list[str]:
        if self.targets is not None:
            return self.targets(recipe)
        assert self.target is not None
        return [self.target(recipe)]


def _tidl_target(recipe: Recipe) -> str:
    assert recipe.tidl is not None
    return recipe.tidl.target


def _tidl_reads(recipe: Recipe) -> Any:
    return recipe.model_dump(
        mode="json", include={"name", "task", "inputs", "outputs", "preprocessing", "detection", "tidl"}
    )


def _tidl_build(job: DeployJob) -> dict[str, Any]:
    from zookit.deploy.tidl.package import build_package

    return build_package(
        job.recipe,
        job.zoo_dir,
        job.manifest,
        job.calibration_images,
        job.strict,
        stage_key=job.stage_key,
        tidl_tools=job.tools,
    )


def _tflm_targets(recipe: Recipe) -> list[str]:
    return [t.name for t in recipe.targets if t.format == "tflite" and t.c_array]


def _tflm_reads(recipe: Recipe) -> Any:
    return recipe.model_dump(
        mode="json",
        include={
            "name",
            "task",
            "num_classes",
            "inputs",
            "outputs",
            "sources",
            "samples",
            "targets",
            "mcu",
            "labels",
        },  # labels: the class names its figures show
    )


def _tflm_build(job: DeployJob) -> dict[str, Any]:
    from zookit.deploy.mcu.package import build

    return build(job)


def _tflm_figures(record: dict[str, Any]) -> dict[str, Any]:
    from zookit.deploy.mcu.package import summary

    return summary(record)


DEPLOYERS: dict[str, Deployer] = {
    "tidl": Deployer(
        section=lambda r: r.tidl,
        target=_tidl_target,
        reads=_tidl_reads,
        build=_tidl_build,
        tools=lambda options: options.tidl_tools,
        facts=DEPLOYER_FACTS["tidl"],
        version=2,  # 2: ready_to_import/missing, TFLite deny-list codes, legacy calibration and tool keys
    ),
    # TensorFlow Lite Micro: every TFLite target with c_array: true (extra [mcu]: tflite-micro)
    "tflm": Deployer(
        section=lambda r: r.mcu if r.mcu is not None else (True if _tflm_targets(r) else None),
        targets=_tflm_targets,
        reads=_tflm_reads,
        build=_tflm_build,
        images=lambda options: options.images or options.calibration_images,
        figures=_tflm_figures,
        facts=DEPLOYER_FACTS["tflm"],
        version=2,  # 2: the runtime and limits each figure was measured with (issue 27)
    ),
}


def _openvino_target(recipe: Recipe) -> str:
    assert recipe.openvino is not None
    return recipe.openvino.target


def _openvino_build(job: DeployJob) -> dict[str, Any]:
    from zookit.deploy.openvino.package import build

    return build(job)


def _openvino_figures(record: dict[str, Any]) -> dict[str, Any]:
    from zookit.deploy.openvino.package import summary

    return summary(record)


# OpenVINO IR on this CPU, float and NNCF int8, verified and timed (extra [openvino])
DEPLOYERS["openvino"] = Deployer(
    section=lambda r: r.openvino,
    target=_openvino_target,
    reads=lambda r: r.model_dump(
        mode="json",
        include={
            "name",
            "task",
            "inputs",
            "outputs",
            "preprocessing",
            "samples",
            "targets",
            "openvino",
            "labels",
        },
    ),
    build=_openvino_build,
    images=lambda options: options.images or options.calibration_images,
    figures=_openvino_figures,
    version=2,  # 2: verified in f32 and in the CPU's default precision, README.md (issue 27)
    facts=DEPLOYER_FACTS["openvino"],
    shown={
        "int8_max_abs": "int8 max_abs",
        "int8_top1_agreement": "int8 top1",
        "tflite_int8_max_abs": "tflite-int8 max_abs",
        "latency_ms": "ms",
        "int8_latency_ms": "int8 ms",
        "threads": "threads",
        "default_precision": "plain compile_model precision",
        "default_max_abs": "max_abs",
    },
)


def _ethos_u_figures(record: dict[str, Any]) -> dict[str, Any]:
    from zookit.deploy.ethos_u.package import summary

    return summary(record)


def _ethos_u_build(job: DeployJob) -> dict[str, Any]:
    from zookit.deploy.ethos_u.package import build

    return build(job)


def _ethos_u_reads(recipe: Recipe, target: str, variant: str) -> Any:
    from zookit.deploy.ethos_u.package import reads

    return reads(recipe, target, variant)


# Arm Ethos-U NPUs: each int8 TFLite target compiled by Vela for each configuration (extra [ethos-u])
DEPLOYERS["ethos_u"] = Deployer(
    section=lambda r: r.ethos_u,
    targets=lambda r: list(r.ethos_u.targets) if r.ethos_u else [],
    variants=lambda r, target: [c.label for c in r.ethos_u.configs] if r.ethos_u else [],
    reads=lambda r: r.model_dump(mode="json", include={"name", "ethos_u"}),
    reads_variant=_ethos_u_reads,
    build=_ethos_u_build,
    images=lambda options: None,  # Vela reads the converted model only
    figures=_ethos_u_figures,
    facts=DEPLOYER_FACTS["ethos_u"],
    shown={
        "sram_kib": "SRAM KiB",
        "flash_kib": "flash KiB",
        "dram_kib": "DRAM KiB",
        "inference_time_ms": "ms",
        "npu_operators": "NPU ops",
        "cpu_operators": "CPU ops",
    },
)
