"""The stages of one model: fetch, convert (one per target: prepare, convert, verify), deploy (one per
deployer the recipe names). Each stage declares what it reads, computes a key from exactly that, says
whether its result in the zoo is current for the key (and if not, why), and runs.

    fetch             reads the recipe's sources (file, checksum, members) and the fetch records
    convert:<target>  reads what a conversion reads of the recipe (recipe.conversion_digest: not the
                      description, license, notes, deploy settings or other targets), the target's
                      settings, the fetched files' checksums and the tool versions; the images are
                      compared apart (a run naming none keeps results made with the user's images while
                      they are current; a stage redone for another reason uses the run's images,
                      else the shipped set)
    <deployer>        reads the recipe facts the deployer names, the converted target's checksum, the
                      deployer's tool folder (the run's, else the one its package records), the
                      package format and the tool versions; the calibration images apart
                      (a per-target deployer, such as tflm: one stage <deployer>:<target> each)

Preparing the source (load, trim, reference runner) is shared in memory by the targets of one model
and done only when a target is converted; verification is part of converting (a converted file is
kept only when it matches the source). Nothing here imports TensorFlow unless a stage runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from zookit.errors import UsageError, ZooError
from zookit.layout import Layout
from zookit.libs import tool_versions
from zookit.recipe import Recipe, Target
from zookit.records import Manifest, largest_error


@dataclass(frozen=True)
class RunOptions:
    zoo_dir: Path
    cache_dir: Path | None = None
    images: Path | None = None
    calibration_images: Path | None = None
    samples: bool = False  # ``images`` holds samples (.npy) for models that take no pictures
    tidl_tools: Path | None = None
    force: bool = False
    offline: bool = False
    mirrors: tuple[str, ...] = ()
    threads: int | None = None  # per model, for parallel workers; None: every core
    strict: bool = False  # deployers: fail when the device would not run part of the model
    data: tuple[Path, ...] = ()  # folders labelled sets are found below (--data; $ZOO_DATA is added)


def run_options(
    zoo_dir: Path,
    cache_dir: Path | None,
    images: Path | None,
    samples: bool,
    calibration_images: Path | None,
    tidl_tools: Path | None,
    force: bool,
    offline: bool,
    mirrors: tuple[str, ...],
    parallel: int | None,
    data: tuple[Path, ...] = (),
) -> RunOptions:
    """The options of a run as `zoo run` and ``Zoo.run`` take them: folders resolved here (a worker, a
    Dask worker on another machine included, must not pick its own default), the cache resolved to its
    root, and for ``parallel`` local workers each given its share of the cores."""
    from zookit.fetch.cache import Cache

    return RunOptions(
        zoo_dir=zoo_dir.resolve(),
        cache_dir=Cache(cache_dir).root.resolve(),
        # None: the shipped image set, and results made with the user's own images are kept
        images=images.resolve() if images else None,
        samples=samples,
        calibration_images=calibration_images.resolve() if calibration_images else None,
        tidl_tools=tidl_tools,
        force=force,
        offline=offline,
        mirrors=mirrors,
        threads=max(1, (os.cpu_count() or 1) // parallel) if parallel and parallel > 1 else None,
        data=tuple(d.resolve() for d in data),
    )


def digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class ModelWork:
    """One model's run: its recipe, the options, the zoo's layout, and what its stages share."""

    recipe: Recipe
    options: RunOptions
    _prepared: Any = field(default=None, repr=False)

    @cached_property
    def layout(self) -> Layout:
        return Layout(self.options.zoo_dir)

    @property
    def images(self) -> Path | None:
        given = self.options.images or self.options.calibration_images
        if given is not None and not self.recipe.takes_images and not self.options.samples:
            return None  # pictures mean nothing to a model that takes none: its results stay current
        return given

    def prepared(self) -> Any:
        if self._prepared is None:
            from zookit.convert.prepare import prepare

            self._prepared = prepare(self.recipe, self.options.zoo_dir)
            if self.calibration_set is not None:  # int8 calibrates on the set's calibration part
                self._prepared.labelled = self.labelled
        return self._prepared

    @cached_property
    def labelled(self) -> Any:
        """The recipe's labelled set (datasets.labelled.LabelledSet); None without evaluation section or data."""
        if self.recipe.evaluation is None:
            return None
        from zookit.datasets.labelled import locate

        return locate(self.recipe.evaluation, self.options.data)

    @cached_property
    def calibration_set(self) -> str | None:
        """The checksum of the labelled set's calibration part when int8 targets calibrate on it; a run
        naming no data keeps what was calibrated on one (as with images): the digest its targets record."""
        from zookit.datasets.calibration import recorded_calibration_set

        labelled = self.labelled
        if labelled is None:
            return recorded_calibration_set(self.recipe, self.layout)
        if not labelled.evaluation.calibrate:
            return None
        return str(labelled.digest(labelled.split()[0]))


# (why the stage must run, None when its result in the zoo is current; the figures of a current result)
Check = tuple[str | None, dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    name: str
    key: Callable[[ModelWork], str]
    check: Callable[[ModelWork, str], Check]  # reads the stage's record once
    run: Callable[[ModelWork, str], dict[str, Any]]  # does the work, returns the figures for the report


# --- fetch ----------------------------------------------------------------------------------------


def _fetch_key(work: ModelWork) -> str:
    return digest(
        {
            "stage": "fetch",
            "sources": [s.model_dump(mode="json", exclude={"urls", "note"}) for s in work.recipe.sources],
        }
    )


def _fetch_check(work: ModelWork, key: str) -> Check:
    from zookit.fetch import source_stale_because
    from zookit.fetch.lockfile import ChecksumLock
    from zookit.fsutil import read_json

    lock = ChecksumLock(work.options.zoo_dir)
    for source in work.recipe.sources:
        reason = source_stale_because(work.recipe, source, work.layout, lock)
        if reason:
            return reason, {}
    stamps = [read_json(work.layout.stamp(work.recipe.name, s.file)) or {} for s in work.recipe.sources]
    detail = {
        "files": {s.file: "present" for s in work.recipe.sources},
        "bytes": sum(int(st.get("size", 0)) for st in stamps),
    }
    return None, detail


def _fetch_run(work: ModelWork, key: str) -> dict[str, Any]:
    from zookit.fetch import Fetcher, FetchOptions
    from zookit.fetch.cache import Cache

    options = work.options
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
        files = fetcher.fetch_all([work.recipe])
    finally:
        fetcher.close()
    failed = [f for f in files if f.status == "failed"]
    if failed:
        raise ZooError("; ".join(f.error for f in failed))
    return {"files": {f.file: f.status for f in files}, "bytes": sum(f.size for f in files)}


FETCH = Stage("fetch", _fetch_key, _fetch_check, _fetch_run)


# --- convert (prepare, convert, verify) -----------------------------------------------------------


def convert_key(work: ModelWork, target: Target) -> str:
    """What a conversion reads, images aside (see records.images_current)."""
    from zookit.fsutil import read_json

    recipe = work.recipe
    stamps = {
        s.file: (read_json(work.layout.stamp(recipe.name, s.file)) or {}).get("checksum")
        for s in recipe.sources
    }
    return digest(
        {
            "stage": "convert",
            "recipe": recipe.conversion_digest,
            "target": target.model_dump(mode="json"),
            "sources": stamps,
            "versions": tool_versions(),
            **calibration_key(work, target.quantization in ("int8", "int16x8")),
        }
    )


def calibration_key(work: ModelWork, calibrates: bool) -> dict[str, str]:
    """The labelled calibration part in a key (only when there is one: keys made without stay the same)."""
    return {"calibration_set": work.calibration_set} if calibrates and work.calibration_set else {}


def refuse_calibration_without_data(work: ModelWork, target: Target) -> None:
    """A quantized target last calibrated on the recipe's labelled set is converted again only with that
    set: without it the file would be calibrated on other data under a key that names the set."""
    if target.quantization in ("int8", "int16x8") and work.labelled is None and work.calibration_set:
        assert work.recipe.evaluation is not None
        raise UsageError(
            f"{work.recipe.name}/{target.name} was calibrated on the labelled set "
            f"{work.recipe.evaluation.set}; give --data DIR (or $ZOO_DATA) holding {work.recipe.evaluation.set}/ "
            "to convert it again"
        )


def convert_stage(target: Target) -> Stage:
    def folder(work: ModelWork) -> Path:
        return work.layout.target(work.recipe.name, target.name)

    def check(work: ModelWork, key: str) -> Check:
        manifest = Manifest.load(folder(work))
        if manifest is None:
            return "not converted yet", {}
        reason = manifest.stale_because(key, work.images, folder(work))
        return reason, {} if reason else convert_detail(manifest)

    def run(work: ModelWork, key: str) -> dict[str, Any]:
        from zookit.data import default_images
        from zookit.pipeline.target import convert_target

        refuse_calibration_without_data(work, target)
        made_with = work.images or default_images()  # none named: the shipped set
        manifest = convert_target(work.prepared(), target, work.options.zoo_dir, made_with, stage_key=key)
        return convert_detail(manifest)

    return Stage(f"convert:{target.name}", lambda work: convert_key(work, target), check, run)


def convert_detail(manifest: Manifest) -> dict[str, Any]:
    from zookit.verify.classes import class_detail
    from zookit.verify.compare import measured_on_text

    v = manifest.verification
    detail: dict[str, Any] = {
        "size": manifest.output.size,
        "max_abs": manifest.worst_error,
        "max_rel": largest_error(v.get("outputs", {}), "max_rel"),
    }
    if v.get("top1_agreement") is not None:
        detail["top1_agreement"] = v["top1_agreement"]
    if v.get("detections"):
        detail["detections_matched"] = v["detections"].get("matched_share")
    anchors = manifest.extras.get("anchors")
    if isinstance(anchors, dict) and anchors.get("checked"):  # zookit's anchors against the file's own
        detail["anchors_diff"] = anchors["largest_difference"]
    ref = v.get("reference")
    if ref:  # the upstream's own model (compare_with) on the same samples, shown beside the target's error
        detail["upstream"] = ref["file"]
        detail["upstream_max_abs"] = largest_error(ref["upstream_error"], "max_abs")
        detail["upstream_max_rel"] = largest_error(ref["upstream_error"], "max_rel")
    if v.get("real"):
        detail["data"] = v["real"]["data"]
    other = v.get("other_kernels")  # the same file under LiteRT's reference kernels (TFLM's)
    if other and other.get("top1_agreement") is not None:
        detail["ref_kernels_top1_agreement"] = other["top1_agreement"]
    detail["measured_on"] = measured_on_text(v)
    return detail | class_detail(v)
