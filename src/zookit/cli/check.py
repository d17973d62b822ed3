"""`zoo check MODEL`: the operator inventory of a model under TIDL's rules (``--ethos-u``: Vela's, in
cli/check_ethos_u.py).

Every operator with its count and where its nodes run (on the accelerator, on ARM, replaced by the
detection post-process), then each node that leaves the accelerator with the reason and TI's row. With
``--json`` the same as one document.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from zookit.cli import path_arg
from zookit.recipe.ethos_u import ACCELERATORS

COLUMNS = ("op", "count", "accelerator", "arm", "replaced")


def add_parser(add: Any) -> None:
    p = add("check", cmd_check, "where each operator of a model runs under TIDL (accelerator, ARM, replaced)")
    p.add_argument("model", metavar="MODEL_FILE", type=path_arg, help="a .tflite or .onnx file")
    p.add_argument("--strict", action="store_true", help="exit 1 when any operator is off the accelerator")
    p.add_argument("--json", action="store_true", help="print JSON")
    ethos = p.add_argument_group("Arm Ethos-U (Vela; extra [ethos-u]) instead of TIDL")
    ethos.add_argument(
        "--ethos-u",
        metavar="ACCELERATOR",
        choices=ACCELERATORS,
        help=f"where each operator runs on this NPU, as Vela places it ({', '.join(ACCELERATORS)})",
    )
    ethos.add_argument("--system-config", metavar="NAME", help="a [System_Config.NAME] of the config file")
    ethos.add_argument("--memory-mode", metavar="NAME", help="a [Memory_Mode.NAME] of the config file")
    ethos.add_argument(
        "--vela-config", metavar="FILE", help="Vela config file (default: Vela's Arm/vela.ini)"
    )
    ethos.add_argument("--optimise", choices=("Performance", "Size"), default="Performance")


def cmd_check(args: argparse.Namespace) -> int:
    if args.ethos_u:
        from zookit.cli.check_ethos_u import check_ethos_u

        return check_ethos_u(args)
    from zookit.api import check
    from zookit.deploy.tidl.check import ARM, summary

    nodes = check(args.model)
    operators = summary(nodes)
    off = [f for f in nodes if f.where == ARM]
    if args.json:
        document = {
            "model": args.model,
            "operators": operators,
            "nodes": [f.as_dict() for f in nodes],
            "findings": [f.as_dict() for f in nodes if f.where != "accelerator"],
            "problems": len(off),
        }
        print(json.dumps(document, indent=2))
    else:
        print(_table(operators))
        for f in off:
            print(f"off-accelerator: {f.op} at {f.node}: {f.reason}" + (f" [{f.row}]" if f.row else ""))
        for f in nodes:
            if f.where == "replaced":
                print(f"replaced: {f.op} at {f.node}: {f.reason}")
        counts = {w: sum(1 for f in nodes if f.where == w) for w in ("accelerator", ARM, "replaced")}
        print(
            f"{args.model}: {len(nodes)} node(s) of {len(operators)} operator type(s): "
            f"{counts['accelerator']} on the accelerator, {counts[ARM]} on ARM, {counts['replaced']} replaced; "
            f"{len(off)} operator(s) TIDL would not run on the accelerator"
        )
    return 1 if off and args.strict else 0


def _table(rows: list[dict[str, Any]]) -> str:
    width = max([len(r["op"]) for r in rows] + [2])
    lines = [f"{'op':<{width}}  {'count':>5}  {'accelerator':>11}  {'arm':>5}  {'replaced':>8}"]
    for r in rows:
        lines.append(
            f"{r['op']:<{width}}  {r['count']:>5}  {r['accelerator']:>11}  {r['arm']:>5}  {r['replaced']:>8}"
        )
    return "\n".join(lines)
