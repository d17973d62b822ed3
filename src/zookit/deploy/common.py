"""What the deploy face (``zookit.deploy``: the deployer table) and every deployer share: the job a deployer
is given. The deployers import this module, never the face, so no deployer reaches another through the
table that lists them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zookit.recipe import Recipe
from zookit.records import Manifest


@dataclass(frozen=True)
class DeployJob:
    recipe: Recipe
    zoo_dir: Path
    manifest: Manifest  # the converted target's, current
    calibration_images: Path | None
    stage_key: str
    tools: Path | None = None  # the deployer's own tool folder, when it has one (TIDL: tidl_tools)
    strict: bool = False  # fail when the device would not run part of the model
    prepared: Callable[[], Any] | None = None  # the prepared source model (loaded when first asked for)
    target: str | None = None  # the target a per-target deployer's stage packages
    variant: str | None = None  # the configuration of a deployer with variants (ethos_u: the NPU's)
