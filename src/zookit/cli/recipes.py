"""`zoo list` and `zoo show`: the recipes of a zoo (no deep-learning framework is imported)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(add: Any) -> None:
    p = add("list", cmd_list, "list the models the recipes describe")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("show", cmd_show, "print a recipe's facts")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the whole recipe as JSON")


def _zoo(args: argparse.Namespace) -> Any:
    from zookit.api import Zoo

    return Zoo.open(args.recipes)


def cmd_list(args: argparse.Namespace) -> int:
    zoo = _zoo(args)
    found, errors = zoo.book.survey()  # the validated-recipe cache: no recipe is validated again
    rows = list(found.values())
    rows.sort(key=lambda row: row["name"])
    if args.json:
        print(json.dumps({"recipes": rows, "errors": {n: e.problems for n, e in errors.items()}}, indent=2))
    else:
        width = max((len(r["name"]) for r in rows), default=4)
        for row in rows:
            print(f"{row['name']:<{width}}  {row['task']:<14}  {row['format']:<15}  {row['description']}")
    for err in errors.values():
        print(f"error: {err}", file=sys.stderr)
    return 2 if errors else 0


def cmd_show(args: argparse.Namespace) -> int:
    recipe = _zoo(args).recipe(args.name)
    if args.json:
        print(json.dumps(recipe.model_dump(mode="json", exclude_none=True), indent=2))
        return 0
    print(f"{recipe.name}: {recipe.description}")
    print(f"  task {recipe.task}, license {recipe.license}, model {recipe.model.format} {recipe.model.path}")
    for s in recipe.sources:
        size = f"{s.size} bytes" if s.size else "size unknown"
        print(f"  source {s.file} ({size}, {s.checksum or 'UNPINNED: no published checksum'})")
        for url in s.urls:
            print(f"    {url}")
        for m in s.members:
            print(f"    member {m.path}" + (f" {m.checksum}" if m.checksum else ""))
    for kind, specs in (("input", recipe.inputs), ("output", recipe.outputs)):
        for t in specs:
            print(f"  {kind} {t.name} {t.dtype}{t.shape}" + (f" {t.layout}" if t.layout else ""))
    _show_processing(recipe)
    for t in recipe.targets:
        extra = f" opset {t.opset}" if t.opset else ""
        print(f"  target {t.name}: {t.format} {t.quantization}{extra}")
    if recipe.tidl:
        meta = recipe.tidl.meta_arch_type
        print(
            f"  tidl: imports {recipe.tidl.target}, {recipe.tidl.tensor_bits}-bit, post-processing "
            f"{recipe.tidl.post_proc_type}" + (f", meta_arch_type {meta}" if meta is not None else "")
        )
    return 0


def _show_processing(recipe: Any) -> None:
    p = recipe.preprocessing
    if p is None:
        print("  preprocessing none: the inputs are not pictures (verified on seeded random data)")
    else:
        print(f"  preprocessing mean {p.mean} scale {p.scale} {p.channel_order} {p.layout}", end="")
        if p.resize or p.crop:
            print(f" resize {p.resize} crop {p.crop}")
        else:
            print(f" size {list(p.size)}" if p.size else "")
    for t_in in recipe.trim.inputs:
        print(f"  trim: new input {t_in.name or t_in.tensor} {t_in.dtype}{t_in.shape} replaces {t_in.tensor}")
    if recipe.trim.outputs:
        print(f"  trim: outputs {', '.join(recipe.trim.outputs)}")
    if recipe.custom_ops.allow:
        print(f"  custom ops: {', '.join(recipe.custom_ops.ops) or 'allowed'}")
