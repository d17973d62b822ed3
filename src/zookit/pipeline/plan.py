"""The plan of one model: every stage of its recipe in the order they run (fetch, convert per target,
each deployer, evaluation), which of them would run and why, and running one stage unless it is current.
It sits above the stage kinds it lists (pipeline.stages: fetch and convert; pipeline.deploy_stage;
pipeline.evaluation), which know nothing of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from zookit.deploy import DEPLOYERS
from zookit.pipeline.deploy_stage import deploy_stage
from zookit.pipeline.evaluation import evaluation_stages
from zookit.pipeline.stages import FETCH, ModelWork, RunOptions, Stage, convert_stage
from zookit.recipe import Recipe


def stages(recipe: Recipe) -> list[Stage]:
    """Every stage of a recipe, in the order they run."""
    deploys = [
        deploy_stage(name, target if d.targets is not None else None, variant)
        for name, d in DEPLOYERS.items()
        if d.section(recipe) is not None
        for target in d.target_names(recipe)
        for variant in (d.variants(recipe, target) if d.variants is not None else [None])
    ]
    return [FETCH, *(convert_stage(t) for t in recipe.targets), *deploys, *evaluation_stages(recipe)]


def plan(recipe: Recipe, options: RunOptions) -> list[tuple[str, str | None]]:
    """(stage, why it would run) for every stage of the model; None: current, it would be skipped.
    A stage after one that would run is reported as running because of it when its own inputs are
    not there yet."""
    work = ModelWork(recipe, options)
    out: list[tuple[str, str | None]] = []
    for stage in stages(recipe):
        if options.force:
            out.append((stage.name, "--force"))
            continue
        out.append((stage.name, stage.check(work, stage.key(work))[0]))
    return out


def run_stage(
    stage: Stage, work: ModelWork, starting: Callable[[], None] | None = None
) -> tuple[str, dict[str, Any], float]:
    """Run a stage unless it is current: (status "done"/"skipped", figures, seconds). ``starting`` is
    called once the stage is known to run (progress shows work, not the stages that are current)."""
    started = time.monotonic()
    key = stage.key(work)
    if not work.options.force:
        reason, detail = stage.check(work, key)
        if reason is None:
            return "skipped", detail, 0.0
    if starting is not None:
        starting()
    detail = stage.run(work, key)
    return "done", detail, round(time.monotonic() - started, 3)
