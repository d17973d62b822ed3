"""The ``zoo`` command. Only this module turns errors into messages and exit codes.

Exit codes: 0 success, 1 a model or file failed, 2 bad usage or an invalid recipe, 130 interrupted.
Commands that report take ``--json`` and then print one JSON document on stdout; progress and
warnings always go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zookit.cli import (
    benchmark,
    check,
    deployers,
    diagnose,
    evaluate,
    inspect,
    new,
    path_arg,
    recipes,
    report,
    run,
    stages,
)
from zookit.cli.common import book, print_json
from zookit.errors import UsageError, ZooError, describe_os_error, missing_dependency
from zookit.version import __version__

Handler = Callable[[argparse.Namespace], int]


# --- validate / schema (list and show: cli/recipes.py) --------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from zookit.recipe import recipe_files
    from zookit.recipe.cache import verdicts

    paths: list[Path] = []
    empty: list[str] = []
    for given in args.paths or [str(book(args).folder)]:
        p = Path(given)
        found = recipe_files(p) if p.is_dir() else [p]
        paths += found
        if not found:
            empty.append(given)
    results: dict[str, list[str]] = {}
    for folder in empty:
        print(f"zoo: {folder} holds no recipe files (*.yaml)", file=sys.stderr)
    for verdict in verdicts(paths):  # the validated-recipe cache: an unchanged file is not validated again
        results[str(verdict.path)] = verdict.error.problems if verdict.error else []
        if verdict.error and not args.json:
            print(verdict.error, file=sys.stderr)
    bad = sum(1 for v in results.values() if v)
    if args.json:
        print_json({"checked": len(results), "invalid": bad, "problems": results})
    else:
        print(f"{len(results)} recipe(s) checked, {bad} invalid")
    return 2 if bad or not results else 0


def cmd_schema(args: argparse.Namespace) -> int:
    from zookit.recipe import json_schema

    print_json(json_schema())
    return 0


# --- the parser -----------------------------------------------------------------------------------


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

    stages.add_parser(add)
    deployers.add_parser(add)
    run.add_parser(add)
    check.add_parser(add)
    inspect.add_parser(add)
    diagnose.add_parser(add)
    evaluate.add_parser(add)
    new.add_parser(add)
    report.add_parser(add)
    benchmark.add_parser(add)
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
