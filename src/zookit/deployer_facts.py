"""The deployers' static facts, one row each: a deployer's name, the libraries it runs and the zookit extra
that installs them.

These facts sit at the bottom of the package so that what lies low can read them without importing the
deployers: ``errors.missing_dependency`` names the extra of a missing library, the recipe refuses a target
named like a deployer's package folder. The deployer table (``deploy.DEPLOYERS``) takes its names,
libraries and extras from here; a new deployer is one row here and one entry there (a test checks the two
agree). Nothing here imports anything of zookit's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeployerFacts:
    # the libraries it runs (distribution names; the import name with "_" for "-"): their versions join its
    # stage key, and a missing one is reported as its extra to install
    packages: tuple[str, ...] = ()
    extra: str | None = None  # the zookit extra that installs them


# name (the package's folder in ``zoo/<model>/``, the stage's and the command's name) -> its facts
DEPLOYER_FACTS: dict[str, DeployerFacts] = {
    "tidl": DeployerFacts(),  # TI's own tools, found by --tidl-tools (no library of ours)
    "tflm": DeployerFacts(packages=("tflite-micro",), extra="mcu"),  # TensorFlow Lite Micro
    "openvino": DeployerFacts(packages=("openvino", "nncf"), extra="openvino"),  # OpenVINO IR on the CPU
    "ethos_u": DeployerFacts(packages=("ethos-u-vela",), extra="ethos-u"),  # Arm Ethos-U NPUs via Vela
}
