"""The deploy stages: one per deployer the recipe names, one per target for a per-target deployer (such as
tflm: ``tflm:<target>``). A stage reads the recipe facts the deployer names, the converted target's checksum,
the deployer's tool folder (the run's, else the one its package records), the package format and the tool
versions; the calibration images apart. It is current only when its package's files match its record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.deploy import DEPLOYERS
from zookit.deploy.common import DeployJob
from zookit.errors import ZooError
from zookit.fsutil import refuse_links
from zookit.libs import package_versions, tool_versions
from zookit.pipeline.stages import Check, ModelWork, Stage, calibration_key, digest
from zookit.records import Manifest, Package


def current_target(work: ModelWork, deployer: str, target: str | None = None) -> Manifest | None:
    """The manifest of the target a deployer packages (``target``: one of a per-target deployer's), when
    it is current for this recipe's conversion and its file is intact; None when it must be converted
    (again) first."""
    recipe = work.recipe
    target = target or DEPLOYERS[deployer].target_names(recipe)[0]
    folder = work.layout.target(recipe.name, target)
    manifest = Manifest.load(folder)
    if manifest is None or manifest.conversion_digest != recipe.conversion_digest:
        return None
    if manifest.target != recipe.target(target).model_dump(mode="json"):
        return None
    return manifest if manifest.output.intact(folder) else None


def deploy_stage(name: str, target: str | None = None, variant: str | None = None) -> Stage:
    """The stage of deployer ``name``; of its ``target`` for a per-target deployer (named ``name:target``,
    recorded as ``<name>.json`` in the target's folder); of the target's ``variant`` for a deployer with
    variants (``name:target:variant``, recorded in ``<target folder>/<name>/<variant>/``)."""
    deployer = DEPLOYERS[name]
    per_target = deployer.targets is not None

    def target_name(work: ModelWork) -> str:
        return target or deployer.target_names(work.recipe)[0]

    def folder(work: ModelWork) -> Path:
        if per_target:
            found = work.layout.target(work.recipe.name, target_name(work))
            return found / name / variant if variant is not None else found
        return work.layout.deploy(work.recipe.name, name)

    def record(work: ModelWork) -> Package | None:
        return Package.load(folder(work), f"{name}.json" if per_target else Package.FILE)

    def tools(work: ModelWork) -> Path | None:
        """The deployer's tool folder: the run's, else the one the package was written with (while it is
        still a folder), so a folder given once (`zoo tidl --tidl-tools DIR`) stays filled in."""
        given = deployer.tools(work.options)
        if given is not None:
            return given
        package = record(work)
        return package.tools if package else None

    def reads(work: ModelWork) -> Any:
        """The recipe facts the stage reads; a per-target stage reads its own target of ``targets``
        only (adding or changing another target leaves it current)."""
        if variant is not None and deployer.reads_variant is not None:
            return deployer.reads_variant(work.recipe, target_name(work), variant)
        facts = deployer.reads(work.recipe)
        if per_target and isinstance(facts, dict) and "targets" in facts:
            facts = {**facts, "targets": [t for t in facts["targets"] if t["name"] == target_name(work)]}
        return facts

    def key(work: ModelWork) -> str:
        manifest = current_target(work, name, target_name(work))
        tool_folder = tools(work)
        return digest(
            {
                "stage": name,
                **({"target": target_name(work)} if per_target else {}),
                **({"variant": variant} if variant is not None else {}),
                "format": deployer.version,
                "recipe": reads(work),
                "model": manifest.output.checksum if manifest else None,
                "tools": str(tool_folder) if tool_folder else None,
                "versions": tool_versions() | package_versions(deployer.packages),
                # a per-target deployer's calibration is its target's (in the model's checksum)
                **calibration_key(work, not per_target),
            }
        )

    def check(work: ModelWork, key: str) -> Check:
        if current_target(work, name, target_name(work)) is None:
            return f"target {target_name(work)} is converted first", {}
        package = record(work)
        if package is None:
            return "not packaged yet", {}
        reason = package.stale_because(key, deployer.images(work.options), folder(work))
        return reason, {} if reason else deployer.figures(package.data)

    def run(work: ModelWork, key: str) -> dict[str, Any]:
        from zookit.data import default_images

        manifest = current_target(work, name, target_name(work))
        if manifest is None:
            raise ZooError(f"target {target_name(work)} was not converted")
        refuse_links(work.layout.model(work.recipe.name), folder(work))
        job = DeployJob(
            work.recipe,
            work.options.zoo_dir,
            manifest,
            deployer.images(work.options) or default_images(),
            stage_key=key,
            tools=tools(work),
            strict=work.options.strict,
            prepared=work.prepared,
            target=target_name(work),
            variant=variant,
        )
        return deployer.figures(deployer.build(job))

    label = f"{name}:{target}" + (f":{variant}" if variant is not None else "") if per_target else name
    return Stage(label, key, check, run)
