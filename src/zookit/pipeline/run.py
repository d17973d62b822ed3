"""`zoo run`: every stage of many models (pipeline.stages), incrementally, under each model's lock.

Each stage's result records a *stage key*: a digest of what it depends on (recipe content, input
checksums, options, tool versions). A stage whose recorded key equals the key computed now, and whose
files are still the ones recorded (size and modification time), is skipped, without importing
TensorFlow. Everything a stage writes goes to a temporary name first and its record is written last,
so a run killed at any moment leaves either the previous complete result or nothing under a final
name; leftovers of a killed run are removed when the model is next worked on.

Models run one after another, or on an executor (pipeline.executors: spawned local processes, or
Dask workers), each with its output captured and sent back with its result. A per-model lock
serialises two runs on the same zoo. A failing model never stops the others.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from zookit.deploy import DEPLOYERS
from zookit.errors import ZooError, describe_os_error, missing_dependency
from zookit.fetch import safe_lock
from zookit.fsutil import remove
from zookit.layout import SOURCE, STALE_PATTERNS, Layout
from zookit.libs import THREADS_ENV
from zookit.pipeline.plan import run_stage, stages
from zookit.pipeline.stages import ModelWork, RunOptions
from zookit.recipe import Recipe


@dataclass
class StageResult:
    stage: str  # "fetch", "convert:<target>", "tidl"
    status: str  # "done", "skipped" (current, or not run: see reason), "failed"
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    reason: str = ""  # a stage skipped because a stage before it failed: which (``convert:onnx failed``)


@dataclass
class ModelResult:
    model: str
    stages: list[StageResult] = field(default_factory=list)
    log: str = ""

    @property
    def failed(self) -> bool:
        return any(s.status == "failed" for s in self.stages)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "status": "failed" if self.failed else "ok",
            "stages": [asdict(s) for s in self.stages],
        }


def remove_stale(model_dir: Path) -> None:
    """Temporary files and folders a killed run left behind (called with the model's lock held). A folder
    that is a symbolic link is not looked into, and a leftover that is a link is removed as a link: the
    clean-up never deletes anything outside the zoo."""
    if not model_dir.is_dir() or model_dir.is_symlink():
        return
    folders = [p for p in model_dir.iterdir() if p.is_dir() and not p.is_symlink() and p.name != SOURCE]
    staging = tuple(f".{name}-*" for name in DEPLOYERS)  # a deployer's staging folder (fsutil.swap_in)
    for folder in [model_dir, *folders]:
        for pattern in dict.fromkeys(STALE_PATTERNS + staging):
            for leftover in folder.glob(pattern):
                remove(leftover, ignore_errors=True)


def clean_interrupted(names: list[str], options: RunOptions) -> None:
    """After an interrupted run: the leftovers of the models whose workers were stopped, for every model
    that no other run holds (its lock is free)."""
    from filelock import Timeout

    layout = Layout(options.zoo_dir)
    for name in names:
        model_dir = layout.model(name)
        if not model_dir.is_dir() or model_dir.is_symlink():
            continue
        try:
            with safe_lock(layout.lock(name)).acquire(timeout=0):
                remove_stale(model_dir)
        except (Timeout, ZooError, OSError):  # held by another run, or a link where the lock goes
            continue


StageHook = Callable[[str, str], None]  # (model, stage) as each stage starts: progress reporting


def run_model(recipe: Recipe, options: RunOptions, on_stage: StageHook | None = None) -> ModelResult:
    """All stages of one model, under the model's lock. Never raises for a model's own failure: a
    failed stage fails the model, and the stages that need its result (after a failed fetch, all; after
    a failed conversion, the deployers) are not run: they are listed as skipped, with the failure that
    stopped them. The result is recorded in the model's folder (``last-run.json``: what `zoo report`
    shows of the failures)."""
    result = _run_stages(recipe, options, on_stage)
    _add_not_run(recipe, result)
    _record(recipe, options, result)
    return result


def _add_not_run(recipe: Recipe, result: ModelResult) -> None:
    """The stages a failure stopped, as skipped with why: the failed conversion of the stage's own target
    when that is the one, else the first stage that failed."""
    try:
        names = [s.name for s in stages(recipe)]
    except Exception:  # the failure is already recorded; listing what it stopped is a courtesy
        return
    ran = {s.stage for s in result.stages}
    failed = [s.stage for s in result.stages if s.status == "failed"]
    if not failed:
        return
    for name in names:
        if name in ran:
            continue
        own = [
            f for f in failed if f.startswith("convert:") and name.endswith(":" + f.removeprefix("convert:"))
        ]
        result.stages.append(StageResult(name, "skipped", reason=f"{(own or failed)[0]} failed"))


def _record(recipe: Recipe, options: RunOptions, result: ModelResult) -> None:
    """``<zoo>/<model>/last-run.json``: the stages of this run (errors and reasons, no figures, no log);
    not written through a link, and a folder that cannot be written only loses the record."""
    from zookit.fsutil import write_json

    model_dir = Layout(options.zoo_dir).model(recipe.name)
    if not model_dir.is_dir() or model_dir.is_symlink():
        return
    record = {
        "model": recipe.name,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "stages": [
            {"stage": s.stage, "status": s.status, "error": s.error, "reason": s.reason}
            for s in result.stages
        ],
    }
    with suppress(OSError):
        write_json(Layout(options.zoo_dir).last_run(recipe.name), record)


def _run_stages(recipe: Recipe, options: RunOptions, on_stage: StageHook | None) -> ModelResult:
    result = ModelResult(recipe.name)
    layout = Layout(options.zoo_dir)
    model_dir = layout.model(recipe.name)
    work = ModelWork(recipe, options)
    started = time.monotonic()
    try:
        if model_dir.is_symlink():
            raise ZooError(f"{model_dir} is a symbolic link; zookit does not write through links in the zoo")
        model_dir.mkdir(parents=True, exist_ok=True)
        with safe_lock(layout.lock(recipe.name)):
            remove_stale(model_dir)
            for stage in stages(recipe):
                fetch_failed = result.stages and result.stages[0].status == "failed"
                if fetch_failed or (result.failed and not stage.name.startswith("convert:")):
                    break  # the fetch failed (nothing to convert), or a conversion the deployers need
                entry = StageResult(stage.name, "done")
                result.stages.append(entry)
                stage_started = time.monotonic()
                starting = partial(on_stage, recipe.name, stage.name) if on_stage is not None else None
                try:
                    entry.status, entry.detail, entry.seconds = run_stage(stage, work, starting)
                except ZooError as exc:
                    entry.status, entry.error = "failed", str(exc)
                    entry.seconds = round(time.monotonic() - stage_started, 3)
                except ModuleNotFoundError as exc:
                    why = unavailable_deployer(stage.name, exc)
                    if why is None:
                        raise
                    entry.status, entry.error = "skipped", why  # shown, never silent (cli.run)
    except Exception as exc:  # a stage that broke fails this model, never the run
        entry = result.stages[-1] if result.stages else StageResult("setup", "failed")
        if not result.stages:
            result.stages.append(entry)
        entry.status, entry.error = "failed", _describe(exc)
        entry.seconds = entry.seconds or round(time.monotonic() - started, 3)
        if not isinstance(exc, (ZooError, OSError)):
            entry.detail["traceback"] = traceback.format_exc()
    return result


def unavailable_deployer(stage: str, exc: ModuleNotFoundError) -> str | None:
    """Why a deployer stage is skipped when the library it runs (its extra's) is not installed: one line
    naming the extra; None when the missing module is not the deployer's own (then the model fails).
    A skipped deployer does not fail the model: the run summary shows the line, `zoo run` repeats it
    after the summary, and the exit code stays 0 (README: "Exit codes")."""
    deployer = DEPLOYERS.get(stage.split(":")[0])
    name = (exc.name or "").split(".")[0]
    if (
        deployer is None
        or deployer.extra is None
        or name not in {p.replace("-", "_") for p in deployer.packages}
    ):
        return None
    return (
        f"needs the {deployer.extra} extra (pip install 'zookit[{deployer.extra}]'): {name} is not installed"
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ZooError):
        return str(exc)
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    if isinstance(exc, ModuleNotFoundError):
        return missing_dependency(exc)
    return (
        f"internal error: {type(exc).__name__}: {exc} (the report's traceback says where; please report it)"
    )


# --- running many models --------------------------------------------------------------------------


def heaviest_first(recipes: list[Recipe]) -> list[Recipe]:
    """Models in the order parallel workers should take them: the most work first, so that a large
    model started last does not leave one worker busy while the others idle. The work is estimated as
    the declared download size times the number of conversion targets."""

    def work(recipe: Recipe) -> int:
        return sum(s.size or 0 for s in recipe.sources) * max(1, len(recipe.targets))

    return sorted(recipes, key=work, reverse=True)


_capture_lock = threading.Lock()  # one captured model at a time per process (file descriptors are shared)


@contextmanager
def captured_output() -> Iterator[list[str]]:
    """Everything written to file descriptors 1 and 2 inside the block (TensorFlow's C++ logs too), as one
    string appended to the yielded list when the block ends; one capture at a time per process."""
    out: list[str] = []
    with _capture_lock, tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        try:
            yield out
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            capture.seek(0)
            out.append(capture.read().decode("utf-8", "replace"))


def run_captured(recipe: Recipe, options: RunOptions, on_stage: StageHook | None = None) -> ModelResult:
    """run_model with everything it prints (TensorFlow's C++ logs too) captured into the result's log,
    to be shown as one block by the caller: what an executor's worker runs. ``on_stage`` must pickle
    when the worker is another process (pipeline.executors gives one that sends stage starts back)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if options.threads:
        os.environ.setdefault(THREADS_ENV, str(options.threads))
    with captured_output() as log:
        try:
            result = run_model(recipe, options, on_stage)
        except Exception:  # a bug must still come back as this model's failure, with its traceback
            result = ModelResult(
                recipe.name, [StageResult("internal", "failed", error=traceback.format_exc())]
            )
    result.log = log[0]
    return result
