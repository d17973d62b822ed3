"""The ``zoo`` command. Only this module turns errors into messages and exit codes.

Exit codes: 0 success, 1 a model or file failed, 2 bad usage or an invalid recipe, 130 interrupted.
Commands that report take ``--json`` and then print one JSON document on stdout; progress and
warnings always go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zookit import __version__
from zookit.cli import (
    check,
    diagnose,
    existing_dir,
    folder_arg,
    inspect,
    new,
    path_arg,
    positive_float,
    positive_int,
    recipes,
    report,
)
from zookit.errors import RecipeError, UsageError, ZooError, describe_os_error, missing_dependency

Handler = Callable[[argparse.Namespace], int]


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def _images(given: str | None, recipes: list[Any], option: str) -> Path | None:
    """The folder given, or None (the caller falls back to the image set shipped with zookit). Given for
    models none of which take pictures, it is a usage error (it would be silently unused)."""
    if given is None:
        return None
    if recipes and not any(r.takes_images for r in recipes):
        names = ", ".join(r.name for r in recipes)
        raise UsageError(
            f"{option}: {names} take(s) no pictures (no preprocessing section); give real samples as .npy "
            "files with --samples DIR instead"
        )
    return Path(given)


def _data(args: argparse.Namespace, recipes: list[Any], option: str = "--images") -> Path | None:
    """The user's data folder: pictures (``option``) or, for models that take none, ``--samples``."""
    from zookit.samples import check_samples_option

    given = getattr(args, "samples", None)
    if given is None:
        return _images(getattr(args, option.lstrip("-").replace("-", "_"), None), recipes, option)
    if getattr(args, "images", None) is not None:
        raise UsageError("give --images (pictures) or --samples (.npy samples), not both")
    return check_samples_option(Path(given), recipes)


def scheduler_arg(text: str) -> str:
    from zookit.pipeline.executors import scheduler_address

    try:
        scheduler_address(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--scheduler: ")) from None
    return text


def _book(args: argparse.Namespace) -> Any:
    from zookit.recipe import RecipeBook, recipes_dir

    return RecipeBook(recipes_dir(args.recipes) if args.recipes is not None else None)


# --- validate / schema (list and show: cli/recipes.py) --------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from zookit.recipe import load_recipe, recipe_files

    paths: list[Path] = []
    empty: list[str] = []
    for given in args.paths or [str(_book(args).folder)]:
        p = Path(given)
        found = recipe_files(p) if p.is_dir() else [p]
        paths += found
        if not found:
            empty.append(given)
    results: dict[str, list[str]] = {}
    for folder in empty:
        print(f"zoo: {folder} holds no recipe files (*.yaml)", file=sys.stderr)
    for path in paths:
        try:
            load_recipe(path)
            results[str(path)] = []
        except RecipeError as exc:
            results[str(path)] = exc.problems
            if not args.json:
                print(exc, file=sys.stderr)
    bad = sum(1 for v in results.values() if v)
    if args.json:
        _print_json({"checked": len(results), "invalid": bad, "problems": results})
    else:
        print(f"{len(results)} recipe(s) checked, {bad} invalid")
    return 2 if bad or not results else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from zookit.recipe import json_schema

    _print_json(json_schema())
    return 0


# --- fetch ----------------------------------------------------------------------------------------


def _fetch_options(args: argparse.Namespace) -> Any:
    from zookit.fetch import FetchOptions, default_mirrors, default_zoo_dir
    from zookit.fetch.cache import Cache
    from zookit.fetch.downloaders import HttpOptions

    return FetchOptions(
        zoo_dir=Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir(),
        cache=Cache(Path(args.cache_dir) if args.cache_dir else None),
        mirrors=args.mirror or default_mirrors(),
        offline=args.offline,
        require_hashes=args.require_hashes,
        verify=getattr(args, "verify", False),
        jobs=args.jobs,
        http=HttpOptions(connect_timeout=args.timeout, read_timeout=args.timeout, deadline=args.deadline),
    )


def cmd_fetch(args: argparse.Namespace) -> int:
    from zookit.fetch import Fetcher
    from zookit.progress import Progress

    recipes = _book(args).select(args.names, args.all)
    fetcher = Fetcher(_fetch_options(args), Progress())
    try:
        results = fetcher.fetch_all(recipes)
    finally:
        fetcher.close()
    failed = [r for r in results if r.status == "failed"]
    if args.json:
        _print_json({"files": [r.as_dict() for r in results], "failed": len(failed)})
    else:
        counts = {
            s: sum(1 for r in results if r.status == s)
            for s in ("downloaded", "copied", "cached", "present", "verified", "failed")
        }
        print(", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" ({len(results)} file(s))")
        for r in failed:
            print(f"error: {r.error}", file=sys.stderr)
    return 1 if failed else 0


# --- convert / verify ----------------------------------------------------------------------------


def _convert_or_verify(args: argparse.Namespace, verify_only: bool) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter is not for users
    from zookit.data import default_images
    from zookit.fetch import default_zoo_dir
    from zookit.pipeline.commands import run_targets, summarize

    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    recipes = _book(args).select(args.names, args.all)
    for recipe in recipes:  # a target no selected recipe has is a usage error, before any work
        for name in args.target or []:
            recipe.target(name)
    images = _data(args, recipes) or default_images()
    rows = []
    for recipe in recipes:
        try:
            rows += run_targets(
                recipe, zoo_dir, args.target, getattr(args, "quant", None), images, verify_only
            )
        except ZooError as exc:
            rows.append({"model": recipe.name, "target": "*", "status": "failed", "error": str(exc)})
        if not args.json:
            for row in rows:
                if row["model"] == recipe.name:
                    print(summarize(row), file=sys.stdout if row["status"] == "ok" else sys.stderr)
    failed = sum(1 for r in rows if r["status"] != "ok")
    if args.json:
        _print_json({"results": rows, "failed": failed})
    return 1 if failed else 0


def cmd_convert(args: argparse.Namespace) -> int:
    return _convert_or_verify(args, verify_only=False)


def cmd_verify(args: argparse.Namespace) -> int:
    return _convert_or_verify(args, verify_only=True)


# --- tidl / check -------------------------------------------------------------------------------


def cmd_tidl(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zookit.data import default_images
    from zookit.deploy.tidl.package import tools_path
    from zookit.fetch import default_zoo_dir
    from zookit.pipeline.commands import package_model

    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    recipes = _book(args).select(args.names, args.all)
    images = _images(args.images, recipes, "--images") or default_images()
    calibration = _images(args.calibration_images, recipes, "--calibration-images") or default_images()
    tools = tools_path(Path(args.tidl_tools) if args.tidl_tools else None)
    rows: list[dict[str, Any]] = []
    for recipe in recipes:
        try:
            row = package_model(recipe, zoo_dir, images, calibration, args.strict, tools)
        except ZooError as exc:
            row = {"model": recipe.name, "status": "failed", "error": str(exc)}
        rows.append(row)
        if args.json:
            continue
        if row["status"] != "ok":
            print(f"FAILED {recipe.name}: {row['error']}", file=sys.stderr)
            continue
        bad = [f for f in row["check"] if not f["accelerated"]]
        print(
            f"ok {recipe.name}: {row['folder']} ({len(row['files'])} files, {len(bad)} operator(s) off the accelerator)"
        )
        for f in bad:
            print(f"  warning: {f['op']} at {f['node']}: {f['reason']}", file=sys.stderr)
        for missing in row["missing"]:
            print(f"  not ready to import: {missing}", file=sys.stderr)
        for note in row["notes"]:
            print(f"  note: {note}", file=sys.stderr)
    failed = sum(1 for r in rows if r["status"] != "ok")
    if args.json:
        _print_json({"packages": rows, "failed": failed})
    return 1 if failed else 0


# --- run / clean ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    import time

    from zookit.deploy.tidl.package import tools_path
    from zookit.fetch import default_mirrors, default_zoo_dir
    from zookit.fsutil import write_json
    from zookit.pipeline.run import (
        ModelResult,
        clean_interrupted,
        heaviest_first,
        run_captured,
    )
    from zookit.pipeline.stages import run_options
    from zookit.pipeline.summary import summary_table
    from zookit.progress import RunDisplay

    if args.scheduler and args.jobs > 1:
        raise UsageError("give -j N (local processes) or --scheduler (a Dask cluster), not both")
    if args.dry_run and args.report:
        raise UsageError("--report writes the results of a run; with --dry-run use --json for the plan")
    recipes = _book(args).select(args.names, args.all)
    names = [r.name for r in recipes]
    options = run_options(
        Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir(),
        Path(args.cache_dir) if args.cache_dir else None,
        _data(args, recipes),
        getattr(args, "samples", None) is not None,
        _images(args.calibration_images, recipes, "--calibration-images"),
        tools_path(Path(args.tidl_tools) if args.tidl_tools else None),
        args.force,
        args.offline,
        tuple(args.mirror or default_mirrors()),
        None if args.scheduler else args.jobs,
    )
    if args.dry_run:
        return _dry_run(recipes, options, args.json)
    started = time.monotonic()
    results: list[ModelResult] = []

    with RunDisplay(len(names)) as display:

        def finished(result: ModelResult) -> None:
            results.append(result)
            text = ""
            # what the libraries printed (TensorFlow's logs and warnings): for a failure, or with -v
            if result.log.strip() and (result.failed or args.verbose):
                text = f"----- {result.model} -----\n{result.log.rstrip()}\n----- end {result.model} -----\n"
            done = sum(1 for s in result.stages if s.status == "done")
            failed = sum(1 for s in result.stages if s.status == "failed")
            state = "FAILED" if result.failed else "ok"
            counts = f"{done} stage(s) run" + (f", {failed} failed" if failed else "")
            display.done(
                result.model, f"{text}[{len(results)}/{len(names)}] {state} {result.model} ({counts})"
            )

        try:
            if args.scheduler or args.jobs > 1:
                from zookit.pipeline.executors import dask_cluster, local_processes, run_all

                execution = (
                    dask_cluster(args.scheduler, display.stage)
                    if args.scheduler
                    else local_processes(min(args.jobs, len(recipes)), display.stage)
                )
                with execution as running:
                    run_all(heaviest_first(recipes), options, running, finished)
            else:
                for recipe in recipes:  # the model's own output is captured: shown for a failure, or with -v
                    finished(run_captured(recipe, options, display.stage))
        except KeyboardInterrupt:
            left = [n for n in names if n not in {r.model for r in results}]
            clean_interrupted(left, options)
            display.message(
                f"zoo: interrupted: finished {', '.join(r.model for r in results) or 'nothing'}; "
                f"not finished {', '.join(left)} (rerun to continue)"
            )
            return 130
    results.sort(key=lambda r: names.index(r.model))
    failed = [r for r in results if r.failed]
    report = {
        "models": [r.as_dict() for r in results],
        "failed": len(failed),
        "seconds": round(time.monotonic() - started, 3),
    }
    if args.report and Path(args.report).suffix.lower() in (".html", ".htm"):  # the zoo report's page
        from zookit.report import build, write

        page = Path(args.report)
        write(
            build(options.zoo_dir, recipes, run=report),
            page.parent,
            page=page.name,
            document=f"{page.stem}.json",
        )
    elif args.report:
        write_json(Path(args.report), report)
    if args.json:
        _print_json(report)
    else:
        print(summary_table(results))
        for r in failed:  # the whole first error of each failed model: the table only has room for a line
            first = next(s for s in r.stages if s.status == "failed")
            print(f"error: {r.model}: {first.stage}: {first.error}", file=sys.stderr)
        for r in results:  # what a package lacks before its toolchain can import it (package.json `missing`)
            for s in r.stages:
                for missing in s.detail.get("missing") or []:
                    print(f"not ready to import: {r.model}: {s.stage}: {missing}", file=sys.stderr)
        ran = sum(1 for r in results for s in r.stages if s.status != "skipped")
        print(f"{len(results) - len(failed)} model(s) ok, {len(failed)} failed in {report['seconds']:.1f}s")
        if not ran:
            print("nothing changed: every stage was current")
    return 1 if failed else 0


def _dry_run(recipes: list[Any], options: Any, as_json: bool) -> int:
    """What `zoo run` would redo and why, from the records in the zoo; nothing is run or written."""
    from zookit.pipeline.stages import plan

    rows = [
        {"model": r.name, "stage": stage, "would_run": reason is not None, "reason": reason or "current"}
        for r in recipes
        for stage, reason in plan(r, options)
    ]
    if as_json:
        _print_json({"stages": rows, "would_run": sum(1 for row in rows if row["would_run"])})
        return 0
    width = max(len(f"{row['model']}  {row['stage']}") for row in rows)
    for row in rows:
        what = "run " if row["would_run"] else "skip"
        print(f"{what}  {row['model'] + '  ' + row['stage']:<{width}}  {row['reason']}")
    print(f"{sum(1 for row in rows if row['would_run'])} of {len(rows)} stage(s) would run")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    import shutil

    from zookit.fetch import default_zoo_dir
    from zookit.fetch.cache import Cache
    from zookit.layout import Layout

    layout = Layout(Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir())
    names = [r.name for r in _book(args).select(args.names, args.all)]
    removed = []
    for name in names:
        removed += _clean_model(layout, name, args.sources)
    if args.cache:
        cache = Cache(Path(args.cache_dir) if args.cache_dir else None)
        shutil.rmtree(cache.root, ignore_errors=True)
        removed.append(str(cache.root))
    for item in removed:
        print(f"removed {item}")
    print(
        f"removed {len(removed)} item(s)"
        + ("" if args.cache else "; the download cache was kept (--cache clears it)")
    )
    return 0


def _clean_model(layout: Any, name: str, sources: bool) -> list[str]:
    """Remove a model's artefacts under its lock: a run working on the model finishes first."""
    from filelock import Timeout

    from zookit.fetch import safe_lock
    from zookit.fsutil import remove
    from zookit.layout import LOCK, SOURCE

    folder = layout.model(name)
    if folder.is_symlink():
        print(
            f"zoo: skipping {folder}: a symbolic link (its target is not the zoo's to clean)", file=sys.stderr
        )
        return []
    if not folder.is_dir():
        return []
    lock = safe_lock(layout.lock(name))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"zoo: waiting for the run working on {name} to finish (Ctrl-C stops)", file=sys.stderr)
        lock.acquire()
    removed = []
    try:
        for item in sorted(folder.iterdir()):
            if item.name == LOCK or (item.name == SOURCE and not sources):
                continue
            remove(item)  # a link is removed as a link: what it points to is not the zoo's
            removed.append(str(item))
    finally:
        lock.release()
    return removed


# --- the parser -----------------------------------------------------------------------------------


def add_samples(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--samples",
        metavar="DIR",
        type=existing_dir,
        help="models that take no pictures: real samples as .npy files (one sample of the input's shape, "
        "or several stacked), for verification and int8 calibration besides seeded random inputs",
    )


def add_selection(p: argparse.ArgumentParser, cache_dir: bool = False) -> None:
    """The arguments of every command that works on models of the zoo."""
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="every recipe")
    p.add_argument(
        "--zoo-dir", metavar="DIR", type=folder_arg, help="the model zoo folder (default: $ZOO_DIR or ./zoo)"
    )
    if cache_dir:
        p.add_argument(
            "--cache-dir",
            metavar="DIR",
            type=folder_arg,
            help="the download cache (default: $ZOO_CACHE_DIR or the user cache)",
        )


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported on one line (what is wrong, and where to read more)."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="zoo", description="Turn public model zoos into models ready for embedded accelerators."
    )
    parser.add_argument("--version", action="version", version=f"zookit {__version__}")
    parser.add_argument(
        "--recipes",
        metavar="DIR",
        help="recipe folder, or a shipped zoo: mlperf-inference (the default), mlperf-tiny "
        "(default: $ZOO_RECIPES)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        # the global options are accepted after the command too (SUPPRESS: not given here, the
        # value given before the command stands)
        p.add_argument("--recipes", metavar="DIR", default=argparse.SUPPRESS, help="recipe folder")
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log more")
        return p

    recipes.add_parser(add)
    p = add("validate", cmd_validate, "check recipe files; exits 2 on any problem")
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        type=path_arg,
        help="recipe files or folders (default: all recipes)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add("schema", cmd_schema, "print the JSON Schema of the recipe format")

    p = add("fetch", cmd_fetch, "download, verify, cache and unpack model files")
    add_selection(p, cache_dir=True)
    p.add_argument(
        "-j", "--jobs", type=positive_int, default=4, metavar="N", help="files fetched at once (default 4)"
    )
    p.add_argument(
        "--mirror",
        action="append",
        metavar="URL_OR_DIR",
        help="look files up here by name first (repeatable; default: $ZOO_MIRROR, space-separated)",
    )
    p.add_argument(
        "--offline", action="store_true", help="use only the cache and mirrors, never the recipe URLs"
    )
    p.add_argument("--require-hashes", action="store_true", help="refuse files that no checksum pins")
    p.add_argument(
        "--verify",
        action="store_true",
        help="re-hash the files the zoo already holds (a file changed in place is fetched again)",
    )
    p.add_argument(
        "--timeout", type=positive_float, default=30.0, metavar="SECONDS", help="connect and read timeout"
    )
    p.add_argument(
        "--deadline",
        type=positive_float,
        metavar="SECONDS",
        help="give up on a file after this long in all (default: none; a trickling server is cut off)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON result on stdout")

    for name, handler, help_ in (
        ("convert", cmd_convert, "trim and convert models to their targets, verified against the source"),
        ("verify", cmd_verify, "run converted models against their source again"),
    ):
        p = add(name, handler, help_)
        add_selection(p)
        p.add_argument("--target", action="append", metavar="T", help="only this target (repeatable)")
        p.add_argument(
            "--images",
            "--calibration-images",
            dest="images",
            metavar="DIR",
            type=existing_dir,
            help="images for int8 calibration and for verification (besides seeded random inputs; "
            "default: the image set shipped with zookit)",
        )
        add_samples(p)
        p.add_argument("--json", action="store_true", help="print a JSON result on stdout")
        if name == "convert":
            p.add_argument(
                "--quant",
                choices=["float32", "float16", "dynamic-range", "int8", "int16x8"],
                help="quantize TFLite targets this way (output folder tflite-MODE)",
            )

    p = add("tidl", cmd_tidl, "write TIDL import packages (converting the TIDL target when needed)")
    add_selection(p)
    p.add_argument(
        "--calibration-images",
        metavar="DIR",
        type=existing_dir,
        help="images for TIDL's calibration list, copied into the package (default: the shipped image set)",
    )
    p.add_argument(
        "--images",
        metavar="DIR",
        type=existing_dir,
        help="images to verify with when the target must be converted (default: the shipped image set)",
    )
    p.add_argument(
        "--strict", action="store_true", help="fail when an operator would not run on the accelerator"
    )
    p.add_argument(
        "--tidl-tools",
        metavar="DIR",
        help="TI's tidl_tools folder, written into runtime_options.json and the import config "
        "(default: $TIDL_TOOLS_PATH, else the folder the package was written with)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON result on stdout")

    p = add("run", cmd_run, "fetch, convert, verify and package models, redoing only what changed")
    add_selection(p, cache_dir=True)
    p.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="models at once, each in its own process",
    )
    p.add_argument(
        "--images",
        metavar="DIR",
        type=existing_dir,
        help="images to verify with (besides seeded random inputs; default: the shipped image set)",
    )
    add_samples(p)
    p.add_argument(
        "--calibration-images",
        metavar="DIR",
        type=existing_dir,
        help="images for calibration and TIDL's calibration list (default: the shipped image set)",
    )
    p.add_argument(
        "--tidl-tools",
        metavar="DIR",
        help="TI's tidl_tools folder, written into runtime_options.json and the import config "
        "(default: $TIDL_TOOLS_PATH, else the folder the package was written with)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        type=scheduler_arg,
        help="run the models on a Dask cluster (tcp://HOST:8786); the workers must see the zoo, cache "
        "and recipe folders at the same paths (the 'dask' extra)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be redone and why, run nothing")
    p.add_argument("--force", action="store_true", help="redo every stage")
    p.add_argument(
        "--mirror", action="append", metavar="URL_OR_DIR", help="look files up here first (repeatable)"
    )
    p.add_argument("--offline", action="store_true", help="use only the cache and mirrors")
    p.add_argument(
        "--report",
        metavar="FILE",
        help="write the JSON report here; FILE.html: the zoo report's page of these models instead (`zoo "
        "report`, with this run's failures), its document beside it as FILE.json",
    )
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")

    p = add("clean", cmd_clean, "remove generated artefacts (never the download cache unless --cache)")
    add_selection(p, cache_dir=True)
    p.add_argument("--sources", action="store_true", help="also remove the fetched source files")
    p.add_argument("--cache", action="store_true", help="also empty the download cache")

    check.add_parser(add)
    inspect.add_parser(add)
    diagnose.add_parser(add)
    new.add_parser(add)
    report.add_parser(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    try:
        code: int = args.handler(args)
        return code
    except UsageError as exc:
        print(f"zoo: {exc}", file=sys.stderr)
        return exc.exit_code
    except ZooError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped reading (`zoo schema | head`): nothing went wrong here
        _quiet_stdout()
        return 0
    except ModuleNotFoundError as exc:
        print(f"zoo: {missing_dependency(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder that cannot be written, a full disk, a path that is not a folder
        print(f"zoo: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the user, the traceback only with -v
        if args.verbose:
            traceback.print_exc()
        print(
            f"zoo: internal error: {type(exc).__name__}: {exc} (run with -v for the details, and please report it)",
            file=sys.stderr,
        )
        return 1


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush into a closed pipe says nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def entry() -> None:
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    sys.exit(code)


if __name__ == "__main__":
    entry()
