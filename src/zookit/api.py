"""zookit's Python API: what the ``zoo`` command does, as calls that return typed records.

    import zookit

    zoo = zookit.Zoo.open("mlperf-tiny", zoo_dir="zoo")   # a recipe folder, or a shipped zoo's name
    zoo.fetch(["ic_resnet8"])                              # -> [FileResult]
    manifests = zoo.convert("ic_resnet8")                  # -> [Manifest], one per target, verified
    report = zoo.run(["ic_resnet8"])                       # -> RunReport (what `zoo run --json` prints)
    zookit.inspect("model.onnx")                           # -> ModelInfo
    zookit.check("model.tflite")                           # -> [Finding] under TIDL's rules
    doc = zoo.report(out="zoo/report")                     # -> dict (report.json), and the HTML page

Every failure raises a ``zookit.ZooError`` subclass (``RecipeError``, ``UsageError``, ``FetchError``,
``ConversionError``, ``VerificationError``...); ``Zoo.run`` collects each model's failure in its report
instead, as `zoo run` does (``RunReport.raise_for_failures`` turns them into one ``ZooError``).
docs/api.md documents every call. TensorFlow is imported only by the calls that convert or read models.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zookit.errors import FetchError, UsageError, ZooError
from zookit.modelinfo import ModelInfo, inspect_model
from zookit.records import Manifest, Package

if TYPE_CHECKING:
    from zookit.deploy.tidl.check import Finding
    from zookit.errors import RecipeError
    from zookit.fetch import FileResult
    from zookit.pipeline.run import ModelResult
    from zookit.recipe import Recipe, RecipeBook
    from zookit.scaffold import NewRecipe

PathLike = str | os.PathLike[str]
StageHook = Callable[[str, str], None]

__all__ = ["RunReport", "Zoo", "check", "inspect", "new_recipe"]


def _path(value: PathLike | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if "\0" in str(path):
        raise UsageError("a path cannot hold a NUL character")
    return path


def recipe_folder(value: PathLike | None) -> Path:
    """A recipe folder: a path, a shipped zoo's name (``mlperf-inference``, ``mlperf-tiny``, also spelt
    with ``_``), or None for ``$ZOO_RECIPES`` / the MLPerf inference recipes."""
    from zookit.recipe import default_recipes_dir, recipes_dir

    return default_recipes_dir() if value is None else recipes_dir(os.fspath(value))


@dataclass
class RunReport:
    """What `zoo run` did: per model, each stage's status, time, figures and error (``ModelResult``)."""

    models: list[ModelResult]
    seconds: float

    @property
    def failed(self) -> list[ModelResult]:
        return [m for m in self.models if m.failed]

    def as_dict(self) -> dict[str, Any]:
        """The document `zoo run --json` prints and `--report FILE` writes."""
        return {
            "models": [m.as_dict() for m in self.models],
            "failed": len(self.failed),
            "seconds": round(self.seconds, 3),
        }

    def raise_for_failures(self) -> None:
        """Raise one ZooError naming each failed model's first failed stage; nothing when all went well."""
        lines = []
        for m in self.failed:
            first = next(s for s in m.stages if s.status == "failed")
            lines.append(f"{m.model}: {first.stage}: {first.error}")
        if lines:
            raise ZooError("\n".join(lines))


class Zoo:
    """A recipe folder and the zoo folder its models are made in (and the download cache)."""

    def __init__(
        self,
        recipes: Path,
        zoo_dir: Path,
        cache_dir: Path | None = None,
        mirrors: Sequence[str] = (),
        offline: bool = False,
    ):
        from zookit.recipe import RecipeBook

        self.book: RecipeBook = RecipeBook(recipes)
        self.zoo_dir = zoo_dir
        self.cache_dir = cache_dir
        self.mirrors = list(mirrors)
        self.offline = offline

    @classmethod
    def open(
        cls,
        recipes: PathLike | None = None,
        *,
        zoo_dir: PathLike | None = None,
        cache_dir: PathLike | None = None,
        mirrors: Sequence[str] | None = None,
        offline: bool = False,
    ) -> Zoo:
        """The zoo of ``recipes`` (a folder, or a shipped zoo's name; None: ``$ZOO_RECIPES`` or the MLPerf
        inference recipes). ``zoo_dir`` defaults to ``$ZOO_DIR`` or ``./zoo``, ``cache_dir`` to
        ``$ZOO_CACHE_DIR`` or the user cache, ``mirrors`` to ``$ZOO_MIRROR``. Raises UsageError when the
        recipe folder does not exist."""
        from zookit.fetch import default_mirrors, default_zoo_dir
        from zookit.recipe import recipe_files

        folder = recipe_folder(recipes)
        recipe_files(folder)  # a missing folder is a UsageError now, not at the first use
        return cls(
            folder,
            _path(zoo_dir) or default_zoo_dir(),
            _path(cache_dir),
            list(mirrors) if mirrors is not None else default_mirrors(),
            offline,
        )

    # --- recipes ---------------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.book.folder

    @property
    def recipes(self) -> dict[str, Recipe]:
        """Every valid recipe of the folder, by name (the broken ones are in ``errors``)."""
        return self.book.recipes

    @property
    def errors(self) -> dict[str, RecipeError]:
        return self.book.errors

    def recipe(self, name: str) -> Recipe:
        """One recipe; UsageError for an unknown name (with the closest one), RecipeError for a broken one."""
        return self.book.get(name)

    def select(self, names: str | Iterable[str] | None) -> list[Recipe]:
        """Recipes by name (a name or several); None: every recipe of the folder."""
        if isinstance(names, str):
            names = [names]
        return self.book.select(names or [], all_=names is None)

    # --- the stages --------------------------------------------------------------------------------

    def fetch(self, names: str | Iterable[str] | None = None, *, jobs: int = 4) -> list[FileResult]:
        """Download, verify, cache and unpack the source files of the models (None: all). Every file is
        tried; then a FetchError names each one that failed."""
        from zookit.fetch import Fetcher, FetchOptions
        from zookit.fetch.cache import Cache

        options = FetchOptions(
            zoo_dir=self.zoo_dir,
            cache=Cache(self.cache_dir),
            mirrors=self.mirrors,
            offline=self.offline,
            jobs=jobs,
        )
        fetcher = Fetcher(options)
        try:
            results = fetcher.fetch_all(self.select(names))
        finally:
            fetcher.close()
        failed = [r.error for r in results if r.status == "failed"]
        if failed:
            raise FetchError("\n".join(failed))
        return results

    def convert(
        self,
        name: str,
        target: str | None = None,
        *,
        images: PathLike | None = None,
        quant: str | None = None,
    ) -> list[Manifest]:
        """Trim and convert one model to its targets (or the one named), each verified against the source,
        as `zoo convert` does (always redone); the sources must be fetched. Returns each target's
        manifest; the first failure raises (ConversionError, VerificationError...)."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from zookit.data import default_images
        from zookit.pipeline.commands import convert_each

        recipe = self.recipe(name)
        pictures = _path(images) or default_images()
        done = convert_each(recipe, self.zoo_dir, [target] if target else None, quant, pictures)
        for _, result in done:
            if isinstance(result, ZooError):
                raise result
        return [result for _, result in done if isinstance(result, Manifest)]

    def tidl(
        self,
        name: str,
        *,
        calibration_images: PathLike | None = None,
        images: PathLike | None = None,
        strict: bool = False,
        tidl_tools: PathLike | None = None,
    ) -> Package:
        """The TIDL import package of one model (`zoo tidl`), converting its TIDL target when it is missing
        or stale. Without ``calibration_images`` the package is written but marked incomplete."""
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from zookit.data import default_images
        from zookit.deploy.tidl import tools_path
        from zookit.pipeline.commands import package_model

        recipe = self.recipe(name)
        package_model(
            recipe,
            self.zoo_dir,
            _path(images) or default_images(),
            _path(calibration_images) or default_images(),
            strict,
            tools_path(_path(tidl_tools)),
        )
        package = self.package(name, "tidl")
        assert package is not None  # package_model wrote it or raised
        return package

    def run(
        self,
        names: str | Iterable[str] | None = None,
        *,
        jobs: int = 1,
        force: bool = False,
        images: PathLike | None = None,
        calibration_images: PathLike | None = None,
        tidl_tools: PathLike | None = None,
        on_stage: StageHook | None = None,
        data: Iterable[PathLike] = (),
    ) -> RunReport:
        """Every stage of the models (None: all) that is not current: fetch, convert and verify each target,
        package (`zoo run`), evaluate on the labelled sets found below ``data`` (``--data``). ``jobs`` > 1
        runs models in that many spawned processes. A failing model never stops the others: its failure
        is in the report (``raise_for_failures``)."""
        from zookit.deploy.tidl import tools_path
        from zookit.pipeline.run import heaviest_first, run_captured, run_model
        from zookit.pipeline.stages import run_options

        if jobs < 1:
            raise UsageError(f"jobs must be 1 or more, got {jobs}")
        recipes = self.select(names)
        names_in_order = [r.name for r in recipes]
        pictures, calibration = _path(images), _path(calibration_images)
        options = run_options(
            self.zoo_dir,
            self.cache_dir,
            pictures,
            # a folder for models none of which take pictures holds their samples
            pictures is not None and not any(r.takes_images for r in recipes),
            calibration,
            tools_path(_path(tidl_tools)),
            force,
            self.offline,
            tuple(self.mirrors),
            jobs,
            tuple(Path(d) for d in data),
        )
        started = time.monotonic()
        results: list[ModelResult] = []
        hook = on_stage or _quiet
        if jobs > 1:
            from zookit.pipeline.executors import local_processes, run_all

            with local_processes(min(jobs, len(recipes)), hook) as running:
                run_all(heaviest_first(recipes), options, running, results.append)
        else:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            for recipe in recipes:
                results.append(
                    run_model(recipe, options, hook) if on_stage else run_captured(recipe, options)
                )
        results.sort(key=lambda r: names_in_order.index(r.model))
        return RunReport(results, time.monotonic() - started)

    # --- what is in the zoo ------------------------------------------------------------------------

    def report(
        self,
        names: str | Iterable[str] | None = None,
        *,
        out: PathLike | None = None,
        baseline: PathLike | None = None,
        margin: float | None = None,
    ) -> dict[str, Any]:
        """What `zoo report` makes: the report's document (models, targets, packages, what is out of date;
        None: every recipe; the zoo's folders no recipe names are listed as ``left_out``). ``out``: also write ``out/index.html``
        and ``out/report.json``. ``baseline``: an earlier report.json; ``doc["regressions"]`` then lists
        what got worse, better or changed (UsageError when the file is not a report); ``margin``: the
        share by which an Ethos-U figure must grow to be worse (default 0.05)."""
        from zookit.report import build, compare, load_baseline, write

        old = load_baseline(Path(baseline)) if baseline is not None else None
        doc = build(self.zoo_dir, self.select(names))
        if old is not None:
            doc["regressions"] = compare(old, doc) if margin is None else compare(old, doc, margin)
        if out is not None:
            write(doc, _path(out) or Path("."))
        return doc

    def manifest(self, name: str, target: str) -> Manifest | None:
        """The record of a converted target (None: not converted, or not by this version)."""
        from zookit.layout import Layout

        return Manifest.load(Layout(self.zoo_dir).target(self.recipe(name).name, target))

    def package(self, name: str, deployer: str = "tidl") -> Package | None:
        """The record of a deployed package (``tidl``, ``tflm:<target>``...; None: not made yet)."""
        from zookit.layout import Layout

        return Package.load(Layout(self.zoo_dir).deploy(self.recipe(name).name, deployer))


def _quiet(model: str, stage: str) -> None:
    del model, stage


# --- model files ----------------------------------------------------------------------------------


def inspect(model_file: PathLike) -> ModelInfo:
    """Inputs and outputs (shapes, dtypes), operator counts and likely trim points of a model file or a
    SavedModel folder (`zoo inspect`)."""
    path = _path(model_file)
    assert path is not None
    return inspect_model(path)


def check(model_file: PathLike, heads: Iterable[str] = ()) -> list[Finding]:
    """Every node of a .tflite or .onnx file placed under TIDL's rules (`zoo check`): on the accelerator,
    on ARM (with the reason and TI's table row) or replaced by the detection post-process."""
    from zookit.deploy.tidl.check import inventory

    path = _path(model_file)
    assert path is not None
    return inventory(path, heads)


def new_recipe(
    name: str,
    source: PathLike,
    folder: PathLike = ".",
    *,
    force: bool = False,
    url: str | None = None,
    tidl: bool = False,
    c_array: bool = False,
    cache_dir: PathLike | None = None,
) -> NewRecipe:
    """Write ``folder/NAME.yaml`` for a model file, SavedModel folder or http(s) URL (`zoo new`): source
    size and sha256, format, inputs, outputs and a float32 target filled in, validated before writing.
    Refuses to replace an existing file unless ``force``."""
    from zookit.scaffold import new_recipe as write

    where = _path(folder)
    assert where is not None
    text = os.fspath(source)
    return write(
        name, text, where, force=force, url=url, tidl=tidl, c_array=c_array, cache_dir=_path(cache_dir)
    )
