"""`zoo run` (every stage that is not current, locally or on a Dask cluster) and `zoo clean`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from zookit.cli import existing_dir, positive_int
from zookit.cli.common import (
    add_samples,
    add_selection,
    add_tidl_tools,
    book,
    data_folder,
    picture_folder,
    print_json,
    scheduler_arg,
)
from zookit.cli.evaluate import add_data, data_option
from zookit.errors import UsageError


def add_parser(add: Any) -> None:
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
    add_tidl_tools(p)
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
    add_data(p)
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


# --- run / clean ---------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    import time

    from zookit.deploy.tidl import tools_path
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
    recipes = book(args).select(args.names, args.all)
    names = [r.name for r in recipes]
    options = run_options(
        Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir(),
        Path(args.cache_dir) if args.cache_dir else None,
        data_folder(args, recipes),
        getattr(args, "samples", None) is not None,
        picture_folder(args.calibration_images, recipes, "--calibration-images"),
        tools_path(Path(args.tidl_tools) if args.tidl_tools else None),
        args.force,
        args.offline,
        tuple(args.mirror or default_mirrors()),
        None if args.scheduler else args.jobs,
        data_option(args, recipes),
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
        print_json(report)
    else:
        print(summary_table(results))
        for r in failed:  # the whole first error of each failed model: the table only has room for a line
            first = next(s for s in r.stages if s.status == "failed")
            print(f"error: {r.model}: {first.stage}: {first.error}", file=sys.stderr)
        for r in results:  # a deployer left out because its library is missing: said, never silent
            for s in r.stages:
                if s.status == "skipped" and s.error:
                    print(f"skipped: {r.model}: {s.stage}: {s.error}", file=sys.stderr)
        for r in results:  # what a package lacks before its toolchain can import it (package.json `missing`)
            for s in r.stages:
                for missing in s.detail.get("missing") or []:
                    print(f"not ready to import: {r.model}: {s.stage}: {missing}", file=sys.stderr)
        ran = sum(1 for r in results for s in r.stages if s.status != "skipped" or s.error)
        print(f"{len(results) - len(failed)} model(s) ok, {len(failed)} failed in {report['seconds']:.1f}s")
        if not ran:
            print("nothing changed: every stage was current")
    return 1 if failed else 0


def _dry_run(recipes: list[Any], options: Any, as_json: bool) -> int:
    """What `zoo run` would redo and why, from the records in the zoo; nothing is run or written."""
    from zookit.pipeline.plan import plan

    rows = [
        {"model": r.name, "stage": stage, "would_run": reason is not None, "reason": reason or "current"}
        for r in recipes
        for stage, reason in plan(r, options)
    ]
    if as_json:
        print_json({"stages": rows, "would_run": sum(1 for row in rows if row["would_run"])})
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
    names = [r.name for r in book(args).select(args.names, args.all)]
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
