"""`zoo fetch`, `zoo convert`, `zoo verify` and `zoo tidl`: one stage over the selected models, always run."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from zookit.cli import existing_dir, positive_float, positive_int
from zookit.cli.common import (
    add_samples,
    add_selection,
    add_tidl_tools,
    book,
    data_folder,
    picture_folder,
    print_json,
    show_log,
)
from zookit.errors import ZooError


def add_parser(add: Any) -> None:
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
    add_tidl_tools(p)
    p.add_argument("--json", action="store_true", help="print a JSON result on stdout")


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

    recipes = book(args).select(args.names, args.all)
    fetcher = Fetcher(_fetch_options(args), Progress())
    try:
        results = fetcher.fetch_all(recipes)
    finally:
        fetcher.close()
    failed = [r for r in results if r.status == "failed"]
    if args.json:
        print_json({"files": [r.as_dict() for r in results], "failed": len(failed)})
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
    from zookit.pipeline.run import captured_output

    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    recipes = book(args).select(args.names, args.all)
    for recipe in recipes:  # a target no selected recipe has is a usage error, before any work
        for name in args.target or []:
            recipe.target(name)
    images = data_folder(args, recipes) or default_images()
    rows = []
    for recipe in recipes:
        with captured_output() as log:  # TensorFlow's own log: shown for a failure, or with -v
            try:
                rows += run_targets(
                    recipe, zoo_dir, args.target, getattr(args, "quant", None), images, verify_only
                )
            except ZooError as exc:
                rows.append({"model": recipe.name, "target": "*", "status": "failed", "error": str(exc)})
        show_log(
            args, recipe.name, log[0], any(r["status"] != "ok" for r in rows if r["model"] == recipe.name)
        )
        if not args.json:
            for row in rows:
                if row["model"] == recipe.name:
                    print(summarize(row), file=sys.stdout if row["status"] == "ok" else sys.stderr)
    failed = sum(1 for r in rows if r["status"] != "ok")
    if args.json:
        print_json({"results": rows, "failed": failed})
    return 1 if failed else 0


def cmd_convert(args: argparse.Namespace) -> int:
    return _convert_or_verify(args, verify_only=False)


def cmd_verify(args: argparse.Namespace) -> int:
    return _convert_or_verify(args, verify_only=True)


# --- tidl / check -------------------------------------------------------------------------------


def cmd_tidl(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zookit.data import default_images
    from zookit.deploy.tidl import tools_path
    from zookit.fetch import default_zoo_dir
    from zookit.pipeline.commands import package_model
    from zookit.pipeline.run import captured_output

    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    recipes = book(args).select(args.names, args.all)
    images = picture_folder(args.images, recipes, "--images") or default_images()
    calibration = picture_folder(args.calibration_images, recipes, "--calibration-images") or default_images()
    tools = tools_path(Path(args.tidl_tools) if args.tidl_tools else None)
    rows: list[dict[str, Any]] = []
    for recipe in recipes:
        with captured_output() as log:  # TensorFlow's own log: shown for a failure, or with -v
            try:
                row = package_model(recipe, zoo_dir, images, calibration, args.strict, tools)
            except ZooError as exc:
                row = {"model": recipe.name, "status": "failed", "error": str(exc)}
        show_log(args, recipe.name, log[0], row["status"] != "ok")
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
        print_json({"packages": rows, "failed": failed})
    return 1 if failed else 0
