"""`zoo run`: fetch -> convert (every target, verified) -> TIDL package, for many models, incrementally.

Each stage's result records a *stage key*: a digest of what it depends on (recipe content, input
checksums, options, tool versions). A stage whose recorded key equals the key computed now, and whose
files are still the ones recorded (size and modification time), is skipped, without importing
TensorFlow. Everything a stage writes goes to a temporary name first and its record is written last,
so a run killed at any moment leaves either the previous complete result or nothing under a final
name; leftovers of a killed run are removed when the model is next worked on.

Models run one after another, or with ``jobs > 1`` in separate spawned processes (TensorFlow is not
fork-safe), each with its output captured and printed as one block when it finishes. A per-model
lock serialises two runs on the same zoo. A failing model never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zookit.errors import ZooError, describe_os_error, missing_dependency
from zookit.fetch import safe_lock
from zookit.fsutil import folder_listing, read_json, remove
from zookit.libs import THREADS_ENV

STALE_PATTERNS = (".*.tmp", ".trimmed-*.pb", ".tidl-*")


@dataclass(frozen=True)
class RunOptions:
    zoo_dir: Path
    cache_dir: Path | None = None
    recipes_dir: Path | None = None
    images: Path | None = None
    calibration_images: Path | None = None
    tidl_tools: Path | None = None
    force: bool = False
    offline: bool = False
    mirrors: tuple[str, ...] = ()
    threads: int | None = None  # per model, for parallel workers; None: every core


@dataclass
class StageResult:
    stage: str  # "fetch", "convert:<target>", "tidl"
    status: str  # "done", "skipped", "failed"
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str = ""


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


def digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _versions() -> dict[str, str]:
    from zookit.convert.target import tool_versions

    return tool_versions()


def _file_intact(path: Path, record: dict[str, Any]) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_size == record.get("size") and st.st_mtime_ns == record.get("mtime_ns")


def remove_stale(model_dir: Path) -> None:
    """Temporary files and folders a killed run left behind (called with the model's lock held). A folder
    that is a symbolic link is not looked into, and a leftover that is a link is removed as a link: the
    clean-up never deletes anything outside the zoo."""
    if not model_dir.is_dir() or model_dir.is_symlink():
        return
    folders = [p for p in model_dir.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "source"]
    for folder in [model_dir, *folders]:
        for pattern in STALE_PATTERNS:
            for leftover in folder.glob(pattern):
                remove(leftover, ignore_errors=True)


def clean_interrupted(names: list[str], options: RunOptions) -> None:
    """After an interrupted run: the leftovers of the models whose workers were stopped, for every model
    that no other run holds (its lock is free)."""
    from filelock import Timeout

    for name in names:
        model_dir = options.zoo_dir / name
        if not model_dir.is_dir() or model_dir.is_symlink():
            continue
        try:
            with safe_lock(model_dir / ".lock").acquire(timeout=0):
                remove_stale(model_dir)
        except (Timeout, ZooError, OSError):  # held by another run, or a link where the lock goes
            continue


StageHook = Callable[[str, str], None]  # (model, stage) as each stage starts: progress reporting


def run_model(name: str, options: RunOptions, on_stage: StageHook | None = None) -> ModelResult:
    """All stages of one model, under the model's lock. Never raises for a model's own failure."""
    from zookit.recipe import RecipeBook

    result = ModelResult(name)

    def begin(stage: str) -> StageResult:
        if on_stage is not None:
            on_stage(name, stage)
        entry = StageResult(stage, "done")
        result.stages.append(entry)
        return entry

    try:
        recipe = RecipeBook(options.recipes_dir).get(name)
    except ZooError as exc:
        result.stages.append(StageResult("recipe", "failed", error=str(exc)))
        return result
    model_dir = options.zoo_dir / name
    started = time.monotonic()
    try:
        if model_dir.is_symlink():
            raise ZooError(f"{model_dir} is a symbolic link; zookit does not write through links in the zoo")
        model_dir.mkdir(parents=True, exist_ok=True)
        with safe_lock(model_dir / ".lock"):
            remove_stale(model_dir)
            if _fetch(recipe, options, begin):
                versions = _versions()
                if _convert(recipe, options, begin, versions) and recipe.tidl is not None:
                    _tidl(recipe, options, begin, versions)
    except Exception as exc:  # a stage that broke fails this model, never the run
        entry = result.stages[-1] if result.stages else begin("setup")
        entry.status, entry.error = "failed", _describe(exc)
        entry.seconds = entry.seconds or round(time.monotonic() - started, 3)
        if not isinstance(exc, (ZooError, OSError)):
            entry.detail["traceback"] = traceback.format_exc()
    return result


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


Begin = Callable[[str], StageResult]


def _fetch(recipe: Any, options: RunOptions, begin: Begin) -> bool:
    from zookit.fetch import Fetcher, FetchOptions
    from zookit.fetch.cache import Cache

    entry = begin("fetch")
    started = time.monotonic()
    fetcher = Fetcher(
        FetchOptions(
            zoo_dir=options.zoo_dir,
            cache=Cache(options.cache_dir),
            mirrors=list(options.mirrors),
            offline=options.offline,
            jobs=2,
        )
    )
    try:
        files = fetcher.fetch_all([recipe])
    finally:
        fetcher.close()
    entry.seconds = round(time.monotonic() - started, 3)
    entry.detail = {"files": {f.file: f.status for f in files}, "bytes": sum(f.size for f in files)}
    failed = [f for f in files if f.status == "failed"]
    if failed:
        entry.status, entry.error = "failed", "; ".join(f.error for f in failed)
        return False
    if all(f.status == "present" for f in files):
        entry.status = "skipped"
    return True


def convert_key(recipe: Any, target: Any, options: RunOptions, versions: dict[str, str]) -> str:
    """What a conversion reads, images aside (see images_current)."""
    from zookit.fetch import source_dir

    folder = source_dir(options.zoo_dir, recipe.name)
    stamps = {
        s.file: (read_json(folder / f".fetched-{s.file}.json") or {}).get("checksum") for s in recipe.sources
    }
    return digest(
        {
            "stage": "convert",
            "recipe": recipe.conversion_digest,
            "target": target.model_dump(mode="json"),
            "sources": stamps,
            "versions": versions,
        }
    )


def images_current(recorded: Any, folder: Path | None) -> bool:
    """Images a stage was made with are current when the run names none (a result made with the user's
    images or the shipped set is kept, not redone with the shipped set) or names the same files."""
    return folder is None or recorded == folder_listing(folder)


def _convert(recipe: Any, options: RunOptions, begin: Begin, versions: dict[str, str]) -> bool:
    prepared = None
    ok = True
    images = options.images or options.calibration_images
    for target in recipe.targets:
        entry = begin(f"convert:{target.name}")
        started = time.monotonic()
        key = convert_key(recipe, target, options, versions)
        out_dir = options.zoo_dir / recipe.name / target.name
        manifest = read_json(out_dir / "manifest.json")
        if (
            not options.force
            and isinstance(manifest, dict)
            and manifest.get("stage_key") == key
            and images_current(manifest.get("images"), images)
            and _file_intact(out_dir / manifest["output"]["file"], manifest["output"])
        ):
            entry.status = "skipped"
            entry.detail = _convert_detail(manifest)
            continue
        try:
            from zookit.convert.target import convert_target, prepare

            if prepared is None:
                prepared = prepare(recipe, options.zoo_dir)
            from zookit.data import default_images

            made_with = images or default_images()  # none named: the shipped set
            manifest = convert_target(prepared, target, options.zoo_dir, made_with, stage_key=key)
            entry.detail = _convert_detail(manifest)
        except ZooError as exc:
            entry.status, entry.error, ok = "failed", str(exc), False
        entry.seconds = round(time.monotonic() - started, 3)
    return ok


def _convert_detail(manifest: dict[str, Any]) -> dict[str, Any]:
    v = manifest.get("verification", {})
    worst = max((o["max_abs"] for o in v.get("outputs", {}).values()), default=None)
    detail: dict[str, Any] = {"size": manifest["output"]["size"], "max_abs": worst}
    if v.get("top1_agreement") is not None:
        detail["top1_agreement"] = v["top1_agreement"]
    if v.get("detections"):
        detail["detections_matched"] = v["detections"].get("matched_share")
    return detail


def _tidl(recipe: Any, options: RunOptions, begin: Begin, versions: dict[str, str]) -> None:
    from zookit.deploy.tidl.package import PACKAGE, target_manifest

    entry = begin("tidl")
    started = time.monotonic()
    manifest = target_manifest(recipe, options.zoo_dir)
    if manifest is None:
        entry.status, entry.error = "failed", f"target {recipe.tidl.target} was not converted"
        return
    key = digest(
        {
            "stage": "tidl",
            "recipe": recipe.digest,
            "model": manifest["output"]["checksum"],
            "tidl_tools": str(options.tidl_tools) if options.tidl_tools else None,
            "versions": versions,
        }
    )
    folder = options.zoo_dir / recipe.name / "tidl"
    package = read_json(folder / PACKAGE)
    if (
        not options.force
        and isinstance(package, dict)
        and package.get("stage_key") == key
        and images_current(package.get("calibration_listing"), options.calibration_images)
        and all((folder / f).is_file() for f in package.get("files", {}))
    ):
        entry.status = "skipped"
        entry.detail = {"files": len(package["files"]), "complete": package["complete"]}
        return
    try:
        from zookit.data import default_images
        from zookit.deploy.tidl.package import build_package

        package = build_package(
            recipe,
            options.zoo_dir,
            manifest,
            options.calibration_images or default_images(),
            stage_key=key,
            tidl_tools=options.tidl_tools,
        )
        entry.detail = {"files": len(package["files"]), "complete": package["complete"]}
    except ZooError as exc:
        entry.status, entry.error = "failed", str(exc)
    entry.seconds = round(time.monotonic() - started, 3)


# --- running many models --------------------------------------------------------------------------


def heaviest_first(recipes: list[Any]) -> list[str]:
    """Model names in the order parallel workers should take them: the most work first, so that a large
    model started last does not leave one worker busy while the others idle. The work is estimated as
    the declared download size times the number of conversion targets."""

    def work(recipe: Any) -> int:
        return sum(s.size or 0 for s in recipe.sources) * max(1, len(recipe.targets))

    return [r.name for r in sorted(recipes, key=work, reverse=True)]


_events: Any = None  # in a worker process: the queue that stage starts are posted to


def init_worker(events: Any) -> None:
    """ProcessPoolExecutor initializer: where this worker reports the stages it starts."""
    global _events
    _events = events


def _post(model: str, stage: str) -> None:
    _events.put((model, stage))


def run_captured(name: str, options: RunOptions, on_stage: StageHook | None = None) -> ModelResult:
    """run_model with everything it prints (TensorFlow's C++ logs too) captured, to be shown as one
    block; in a worker process, stage starts go to the queue given to init_worker."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if options.threads:
        os.environ.setdefault(THREADS_ENV, str(options.threads))
    with tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(capture.fileno(), 1)
        os.dup2(capture.fileno(), 2)
        try:
            hook = on_stage or (_post if _events is not None else None)
            result = run_model(name, options, hook)
        except Exception:  # a bug must still come back as this model's failure, with its traceback
            result = ModelResult(name, [StageResult("internal", "failed", error=traceback.format_exc())])
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        capture.seek(0)
        result.log = capture.read().decode("utf-8", "replace")
    return result


def summary_table(results: list[ModelResult]) -> str:
    rows = [("model", "stage", "status", "time", "size", "figures")]
    for r in results:
        for s in r.stages:
            size = s.detail.get("size") or s.detail.get("bytes")
            figures = ", ".join(
                f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                for k, v in s.detail.items()
                if k in ("max_abs", "top1_agreement", "detections_matched", "files", "complete")
                and v is not None
            )
            rows.append(
                (
                    r.model,
                    s.stage,
                    s.status,
                    f"{s.seconds:.1f}s",
                    f"{size / 1e6:.1f} MB" if size else "",
                    figures if s.status != "failed" else s.error.splitlines()[0][:100],
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
