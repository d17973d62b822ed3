"""``zoo evaluate``: every artefact of a model measured on the held-out part of its labelled set, and the
``--data DIR`` option it shares with ``zoo run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from zookit.cli import existing_dir
from zookit.cli.common import add_selection, book, print_json
from zookit.errors import UsageError


def add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        action="append",
        metavar="DIR",
        type=existing_dir,
        help="a folder labelled sets (named by a recipe's evaluation.set) are found below, a few levels "
        "deep (repeatable; also $ZOO_DATA, a path list)",
    )


def data_option(args: argparse.Namespace, recipes: list[Any]) -> tuple[Path, ...]:
    """The --data folders, after checking that every selected recipe's set is found there (a missing
    set: one line naming it and the folders searched, exit 2)."""
    from zookit.datasets.labelled import locate

    given = tuple(Path(d) for d in (getattr(args, "data", None) or ()))
    for recipe in recipes:
        if recipe.evaluation is not None:
            locate(recipe.evaluation, given)
    return given


def add_parser(add: Any) -> None:
    p = add(
        "evaluate",
        cmd_evaluate,
        "measure the source and every target (LiteRT, TFLM, OpenVINO) on the recipe's labelled set",
    )
    add_selection(p)
    p.add_argument(
        "--target",
        action="append",
        metavar="T",
        help="only this target (repeatable; the source is always measured)",
    )
    add_data(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from zookit.convert.prepare import prepare
    from zookit.datasets.labelled import locate
    from zookit.errors import ZooError
    from zookit.evaluate import EvaluationError, evaluate_model
    from zookit.fetch import default_zoo_dir
    from zookit.pipeline.evaluation import record_of

    recipes = book(args).select(args.names, args.all)
    without = [r.name for r in recipes if r.evaluation is None]
    if without and not args.all:
        raise UsageError(
            f"{', '.join(without)}: the recipe has no evaluation section (a labelled set to use)"
        )
    recipes = [r for r in recipes if r.evaluation is not None]
    for recipe in recipes:
        for t in args.target or ():
            if t != "openvino":
                recipe.target(t)
    given = data_option(args, recipes)
    sets = {}
    for r in recipes:
        assert r.evaluation is not None
        found = locate(r.evaluation, given)
        if found is None:
            raise UsageError("no data folder: give --data DIR (or $ZOO_DATA) holding the labelled sets")
        sets[r.name] = found
    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    only = set(args.target) if args.target else None
    results: dict[str, Any] = {}
    failed: list[str] = []
    for recipe in recipes:
        try:
            record = evaluate_model(prepare(recipe, zoo_dir), zoo_dir, sets[recipe.name], only)
        except EvaluationError:
            record = record_of(zoo_dir, recipe.name) or {}
            failed += record.get("failures", [])
        except ZooError as exc:
            failed.append(f"{recipe.name}: {exc}")
            continue
        results[recipe.name] = record
        if not args.json:
            print(table(record))
    if args.json:
        print_json({"models": results, "failures": failed})
    for line in failed:
        print(f"zoo: error: {line}", file=sys.stderr)
    return 1 if failed else 0


def table(record: dict[str, Any]) -> str:
    """One model's figures: artefact, figure, drop against the source, gate, size, runtime."""
    target = record.get("quality_target")
    head = (
        f"{record['recipe']}: {record['metric']} on {record['measured_on']} (calibration: "
        f"{record['split']['calibration']} other files); max_drop {record['max_drop']:g}"
        + (f", quality target {target:g} (MLPerf's: the full official set)" if target is not None else "")
    )
    rows = [("artefact", record["metric"], "drop", "gate", "target", "size", "runtime")]
    for m in record["figures"]:
        name = m["name"]
        gate = {True: "pass", False: "FAIL", None: "-"}[m.get("passes")]
        meets = {True: "meets", False: "below", None: ""}[m.get("meets_target")]
        size = f"{m['size'] / 1024:.0f} KiB" if m.get("size") else ""
        rows.append((name, f"{m['value']:.3f}", f"{m['drop']:+.3f}", gate, meets, size, m["runtime"]))
    from zookit.pipeline.summary import columns

    lines = ["  " + line for line in columns(rows)]
    return "\n".join([head, *lines])
