"""What the commands share: the recipe book of the run, the data folders given, the model selection
and JSON output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zookit.cli import existing_dir, folder_arg
from zookit.errors import UsageError


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False))


def picture_folder(given: str | None, recipes: list[Any], option: str) -> Path | None:
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


def data_folder(args: argparse.Namespace, recipes: list[Any], option: str = "--images") -> Path | None:
    """The user's data folder: pictures (``option``) or, for models that take none, ``--samples``."""
    from zookit.samples import check_samples_option

    given = getattr(args, "samples", None)
    if given is None:
        return picture_folder(getattr(args, option.lstrip("-").replace("-", "_"), None), recipes, option)
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


def book(args: argparse.Namespace) -> Any:
    from zookit.recipe import RecipeBook, recipes_dir

    return RecipeBook(recipes_dir(args.recipes) if args.recipes is not None else None)


def add_tidl_tools(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tidl-tools",
        metavar="DIR",
        help="TI's tidl_tools folder, written into runtime_options.json and the import config "
        "(default: $TIDL_TOOLS_PATH, else the folder the package was written with)",
    )


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


@contextmanager
def libraries_quiet(args: argparse.Namespace, what: str) -> Iterator[None]:
    """What TensorFlow and the other libraries print while ``what`` is worked on (oneDNN and absl start-up
    lines, deprecation warnings) is kept from the terminal, shown with -v (a failure is zookit's one line)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zookit.pipeline.run import captured_output

    log: list[str] = []
    try:
        with captured_output() as log:
            yield
    finally:
        show_log(args, what, log[0] if log else "", failed=False)


def show_log(args: argparse.Namespace, model: str, log: str, failed: bool) -> None:
    """What the libraries printed while a model was worked on: for a failure, or with -v."""
    if log.strip() and (failed or getattr(args, "verbose", False)):
        print(f"----- {model} -----\n{log.rstrip()}\n----- end {model} -----", file=sys.stderr)
