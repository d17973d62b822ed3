"""`zoo convert`, `zoo verify` and `zoo tidl`: the pipeline's stages, selected and always run (the
commands redo what they are asked to), recording the same stage keys as `zoo run`, so a following
`zoo run` finds their results current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.convert.target import with_quantization
from zookit.errors import UsageError, ZooError
from zookit.layout import Layout
from zookit.pipeline.deploy_stage import current_target, deploy_stage
from zookit.pipeline.stages import (
    ModelWork,
    RunOptions,
    convert_key,
    convert_stage,
    refuse_calibration_without_data,
)
from zookit.pipeline.target import convert_target
from zookit.recipe import Recipe, Target
from zookit.records import Manifest, Package, worst_error


def convert_each(
    recipe: Recipe,
    zoo_dir: Path,
    target_names: list[str] | None,
    quant: str | None,
    images: Path | None,
    verify_only: bool = False,
) -> list[tuple[Target, Manifest | ZooError]]:
    """Convert (or re-verify) the chosen targets of one recipe, each under the key the convert stage
    records: each target's manifest, or the error that failed it (the others go on)."""
    targets = [recipe.target(n) for n in target_names] if target_names else list(recipe.targets)
    if quant:
        targets = [with_quantization(recipe, t, quant) for t in targets if t.format == "tflite"]
        if not targets:
            raise UsageError(f"{recipe.name}: --quant needs a TFLite target and the recipe has none selected")
    work = ModelWork(recipe, RunOptions(zoo_dir=zoo_dir, images=images))
    work.prepared()  # a source that cannot be prepared fails the model, not each target
    out: list[tuple[Target, Manifest | ZooError]] = []
    for target in targets:
        folder = work.layout.target(recipe.name, target.name)
        try:
            if verify_only:
                from zookit.verify.model import reverify

                out.append((target, reverify(work.prepared(), target, folder, images)))
            else:
                refuse_calibration_without_data(work, target)
                key = convert_key(work, target)
                out.append((target, convert_target(work.prepared(), target, zoo_dir, images, key)))
        except ZooError as exc:
            out.append((target, exc))
    return out


def run_targets(
    recipe: Recipe,
    zoo_dir: Path,
    target_names: list[str] | None,
    quant: str | None,
    images: Path | None,
    verify_only: bool = False,
) -> list[dict[str, Any]]:
    """`zoo convert` / `zoo verify` for one recipe: a row per target."""
    rows = []
    for target, result in convert_each(recipe, zoo_dir, target_names, quant, images, verify_only):
        row: dict[str, Any] = {"model": recipe.name, "target": target.name}
        if isinstance(result, ZooError):
            row.update(status="failed", error=str(result))
        else:
            folder = Layout(zoo_dir).target(recipe.name, target.name)
            row.update(
                status="ok",
                file=str(folder / result.output.file),
                size=result.output.size,
                verification=result.verification,
            )
        rows.append(row)
    return rows


def summarize(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"FAILED {row['model']}/{row['target']}: {row['error']}"
    v = row["verification"]
    worst = worst_error(v) or 0.0
    top1 = f", top-1 agreement {v['top1_agreement']:.2f}" if v.get("top1_agreement") is not None else ""
    return f"ok {row['model']}/{row['target']}: {row['size'] / 1e6:.2f} MB, max abs error {worst:.3g}{top1}"


def package_model(
    recipe: Recipe,
    zoo_dir: Path,
    images: Path | None,
    calibration_images: Path | None,
    strict: bool = False,
    tidl_tools: Path | None = None,
) -> dict[str, Any]:
    """`zoo tidl` for one model: convert the TIDL target when it is missing or stale, then package it."""
    if recipe.tidl is None:
        raise UsageError(
            f"{recipe.name}: the recipe has no tidl section, so there is no TIDL package to make"
        )
    options = RunOptions(
        zoo_dir=zoo_dir,
        images=images or calibration_images,
        calibration_images=calibration_images,
        tidl_tools=tidl_tools,
        strict=strict,
    )
    work = ModelWork(recipe, options)
    convert = convert_stage(recipe.target(recipe.tidl.target))
    deploy = deploy_stage("tidl")
    converted = current_target(work, "tidl") is None
    if converted:
        convert.run(work, convert.key(work))
    deploy.run(work, deploy.key(work))
    folder = work.layout.deploy(recipe.name, "tidl")
    package = Package.load(folder)
    assert package is not None
    return {
        "model": recipe.name,
        "status": "ok",
        "folder": str(folder),
        "converted": converted,
        **package.data,
    }


def deploy_model(
    recipe: Recipe,
    name: str,
    options: RunOptions,
    target_names: list[str] | None = None,
) -> list[dict[str, Any]]:
    """`zoo <deployer>` for one model (any deployer of the table but TIDL, whose command is its own): each
    of its stages (one per target for a per-target deployer, or ``target_names`` of them), converting the
    target first when it is missing or stale, then always deploying; a row per stage, a failure in its
    row. The stage keys are those `zoo run` records, so a following run finds the results current."""
    from zookit.deploy import DEPLOYERS

    deployer = DEPLOYERS[name]
    if deployer.section(recipe) is None:
        raise UsageError(f"{recipe.name}: the recipe deploys nothing to {name} (docs/recipes.md: '{name}')")
    targets = deployer.target_names(recipe)
    unknown = [t for t in target_names or [] if t not in targets]
    if unknown:
        raise UsageError(f"{recipe.name}: --target {unknown[0]}: {name} deploys {', '.join(targets)}")
    work = ModelWork(recipe, options)
    rows = []
    chosen = [t for t in targets if not target_names or t in target_names]
    for target, variant in [
        (t, v) for t in chosen for v in (deployer.variants(recipe, t) if deployer.variants else [None])
    ]:
        stage = deploy_stage(name, target if deployer.targets is not None else None, variant)
        row: dict[str, Any] = {"model": recipe.name, "stage": stage.name, "target": target}
        try:
            converted = current_target(work, name, target) is None
            if converted:
                convert = convert_stage(recipe.target(target))
                convert.run(work, convert.key(work))
            row.update(status="ok", converted=converted, figures=stage.run(work, stage.key(work)))
        except ZooError as exc:
            row.update(status="failed", error=str(exc))
        rows.append(row)
    return rows
