"""`zoo diagnose NAME --target T`: where a quantized target loses accuracy, layer by layer; with
``--goal top1=A`` (or ``max_rel=R``) the fewest layers to keep in float that meet it, every candidate
converted and measured; with ``--write`` that change written into the recipe file (checked before the
search: a recipe that cannot be edited is refused at once). What TensorFlow prints (its converter logs
every quantization pass) is captured and shown with -v or for a failure."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from zookit.cli import existing_dir, positive_int


def add_parser(add: Any) -> None:
    p = add(
        "diagnose",
        cmd_diagnose,
        "per-layer quantization error of a target; the fewest layers to keep in float",
    )
    p.add_argument("name", metavar="NAME", help="recipe name")
    p.add_argument("--target", required=True, help="a TFLite int8 or int16x8 target of the recipe")
    p.add_argument(
        "--images",
        type=existing_dir,
        metavar="DIR",
        help="pictures, split into calibration, search and held-out thirds (default: shipped)",
    )
    p.add_argument("--zoo-dir", metavar="DIR", help="zoo folder (default: $ZOO_DIR or ./zoo)")
    p.add_argument(
        "--goal", metavar="METRIC=VALUE", help="top1=A or max_rel=R: search for the fewest float layers"
    )
    p.add_argument("--write", action="store_true", help="apply the search's change to the recipe file")
    p.add_argument(
        "--ethos-u",
        metavar="ACCEL[,SYSTEM_CONFIG,MEMORY_MODE]",
        help="Vela's cycles, SRAM, flash and CPU operators of every candidate on this Ethos-U configuration "
        "(names from Vela's vela.ini; default system configuration per accelerator family); without it, "
        "the first configuration of the recipe's ethos_u section when that section compiles the target",
    )
    for figure, what in (
        ("arena", "TFLM arena"),
        ("flash", "TFLM flash"),
        ("cycles", "Ethos-U cycles"),
        ("sram", "Ethos-U SRAM"),
    ):
        p.add_argument(
            f"--max-{figure}-increase",
            metavar="PCT",
            help=f"with --goal: no candidate whose {what} grows by more than PCT over the all-int8 one (e.g. 10%%)",
        )
    p.add_argument(
        "--calibration-sizes",
        default="8,16,32",
        metavar="N,N,...",
        help="calibration-set sizes to measure (default 8,16,32; 0: none)",
    )
    p.add_argument(
        "--workers", type=positive_int, metavar="N", help="candidates measured at once (default: 2)"
    )
    p.add_argument("--top", type=positive_int, default=12, metavar="N", help="layers shown (default 12)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _sizes(text: str) -> tuple[int, ...]:
    from zookit.errors import UsageError

    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        sizes = (-1,)
    if any(s < 0 for s in sizes):
        raise UsageError(f"--calibration-sizes {text!r}: give whole numbers, e.g. 8,16,32")
    return tuple(s for s in sizes if s > 0)


def cmd_diagnose(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zookit.cli.common import book as _book
    from zookit.cli.common import show_log
    from zookit.data import default_images
    from zookit.errors import UsageError, ZooError
    from zookit.fetch import default_zoo_dir
    from zookit.pipeline.run import captured_output
    from zookit.quantize.device_cost import BOUNDS, from_recipe, parse_bound, parse_ethos_u
    from zookit.quantize.diagnose import diagnose
    from zookit.quantize.recipe_edit import check_writable, recipe_file, write_fix
    from zookit.quantize.search import parse_goal
    from zookit.recipe.ethos_u import vela_config_dir

    goal = parse_goal(args.goal) if args.goal else None
    if args.write and goal is None:
        raise UsageError("--write applies the search's change: give --goal too")
    ethos_u = parse_ethos_u(args.ethos_u) if args.ethos_u is not None else None
    bounds = tuple(
        parse_bound(figure, text)
        for figure in BOUNDS
        if (text := getattr(args, f"max_{figure}_increase")) is not None
    )
    if bounds and goal is None:
        raise UsageError(f"--max-{bounds[0].figure}-increase bounds the search: give --goal too")
    sizes = _sizes(args.calibration_sizes)
    book = _book(args)
    recipe = book.get(args.name)
    recipe.target(args.target)
    if ethos_u is None:  # the recipe's own Ethos-U configuration for this target, when it has one
        ethos_u = from_recipe(recipe, args.target)
        if ethos_u is not None and vela_config_dir() is None:
            print(
                f"{recipe.name}: no Ethos-U figures: the recipe's ethos_u section compiles {args.target}, "
                "but Vela is not installed (pip install 'zookit[ethos-u]')",
                file=sys.stderr,
            )
            ethos_u = None
    path = recipe_file(book.folder, recipe.name) if args.write else None
    if path is not None:
        check_writable(path, args.target)  # before the search, not after it
    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    images = Path(args.images) if args.images else default_images()
    failure: ZooError | None = None
    with captured_output() as log:  # TensorFlow's converter logs: shown for a failure, or with -v
        try:
            result = diagnose(
                recipe, zoo_dir, args.target, images, goal, sizes, args.workers, None, ethos_u, bounds
            )
        except ZooError as exc:
            failure = exc
    show_log(args, recipe.name, log[0], failure is not None)
    if failure is not None:
        raise failure
    search = result.get("search")
    written = None
    if path is not None and search and search["met"]:
        written = write_fix(path, args.target, search["recipe_change"])
    if args.json:
        print(json.dumps(result | {"written": str(written) if written else None}, indent=2))
        return 0 if not search or search["met"] else 1
    print(_report(recipe.name, result, args.top))
    folder = zoo_dir / recipe.name / args.target
    print(f"written: {folder / 'diagnosis.json'}, {folder / 'diagnosis.svg'}, manifest.json (diagnosis)")
    if written:
        print(f"recipe updated: {written}")
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0 if not search or search["met"] else 1


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _report(name: str, r: dict[str, Any], top: int) -> str:
    from zookit.quantize.device_cost import cost_text

    ops = r["ops"]
    lines = [
        f"{name}/{r['target']} ({r['quantization']}): {ops['ops']} ops, {ops['float_ops']} in float; "
        f"per-layer error against the float model on {r['samples']} picture(s), worst first",
        f"{'sqnr dB':>8}  {'err/scale':>9}  {'max/scale':>9}  {'op':<16} tensor",
    ]
    for layer in r["layers"][:top]:
        sqnr = "exact" if layer["sqnr_db"] is None else f"{layer['sqnr_db']:.1f}"
        lines.append(
            f"{sqnr:>8}  {layer['error_over_scale']:>9.3f}  {layer['max_error_over_scale']:>9.2f}  "
            f"{layer['op']:<16} {layer['tensor'].split(';')[0]}"
        )
    if len(r["layers"]) > top:
        lines.append(f"... {len(r['layers']) - top} more in diagnosis.json")
    if r.get("cost"):
        on = f" (Ethos-U: {r['ethos_u']})" if r.get("ethos_u") else ""
        lines.append(f"device cost, all int8{on}: {cost_text(r['cost'])}")
    s = r.get("search")
    if s:
        lines.append(
            f"search for {s['goal']} ({s['candidates']} candidates measured, {s['workers']} at a time, "
            f"{s['seconds']:.1f} s):"
        )
        for step in s["steps"]:
            lines.append(
                f"  {step['step']:>2}. {step['action'][:70]:<70} top-1 {_pct(step['top1'])}  max_rel "
                f"{_pct(step['max_rel'])}  {step['size'] / 1e3:.1f} kB  float ops {step['float_ops']}/"
                f"{step['ops']}{'  meets' if step['meets'] else ''}"
                + (f"\n      {cost_text(step['cost'])}" if step.get("cost") else "")
                + "".join(f"\n      OVER THE BOUND: {why}" for why in step.get("over", []))
            )
        for alt in r.get("alternatives") or []:
            if alt.get("error"):
                lines.append(f"  alternative: {alt['action']}: {alt['error']}")
                continue
            lines.append(
                f"  alternative: {alt['action']} ({', '.join(f'{k}: {v}' for k, v in alt['change'].items())}): "
                f"top-1 {_pct(alt['top1'])}  max_rel {_pct(alt['max_rel'])}  {alt['size'] / 1e3:.1f} kB"
                f"{'  meets' if alt['meets'] else ''}"
                + (f"\n      {cost_text(alt['cost'])}" if alt.get("cost") else "")
            )
        if s.get("stopped"):
            lines.append(f"search stopped: {s['stopped']} ({'; '.join(s['bounds'])})")
        if s["met"]:
            b, a = s["before"], s["after"]
            lines.append(
                f"goal met on the search samples: top-1 {_pct(b['top1'])} -> {_pct(a['top1'])}, max_rel "
                f"{_pct(b['max_rel'])} -> {_pct(a['max_rel'])}, size {b['size']} -> {a['size']} B, "
                f"{len(a['nodes'])} layer(s) in float ({a['share_outside_int8']:.1%} of ops outside int8), "
                f"decided on {a['decisive']} sample(s)"
            )
        else:
            lines.append("goal not met even with every ranked layer in float")
        held = r.get("held_out")
        if held:
            hb, ha = held["before"], held["after"]
            after = (
                f" -> {_pct(ha['top1'])}, max_rel {_pct(hb['max_rel'])} -> {_pct(ha['max_rel'])}"
                if ha
                else ""
            )
            lines.append(
                f"held-out pictures (never calibrated or searched on, {hb['decisive']} decisive): top-1 "
                f"{_pct(hb['top1'])}{after}{'' if not ha else '  meets' if ha['meets'] else '  misses the goal'}"
            )
        if s["met"]:
            lines.append(f"recipe change (targets: {r['target']}):")
            change = s["recipe_change"]
            if not change:
                lines.append("  none: the target meets the goal as it is")
            if change.get("calibration_pictures"):
                lines.append(f"  calibration_pictures: {change['calibration_pictures']}")
            if change.get("keep_float"):
                lines.append(
                    "  keep_float:\n    nodes:\n"
                    + "\n".join(f"      - {json.dumps(n)}" for n in change["keep_float"]["nodes"])
                )
        nxt = r.get("next_run")
        if nxt:
            lines.append(
                f"next `zoo run` (calibrated and verified on {nxt['images']}): top-1 {_pct(nxt['top1'])}, "
                f"max_rel {_pct(nxt['max_rel'])}, {nxt['size']} B, {'passes' if nxt['passes'] else 'FAILS'} "
                "the target's tolerance"
            )
            if nxt.get("cost"):
                lines.append(f"  device cost of the next run's model: {cost_text(nxt['cost'])}")
            tflm = nxt.get("tflm")
            if tflm and tflm["runs"]:
                top1 = (
                    f", top-1 {_pct(tflm['top1'])} on {tflm['samples']} real sample(s)"
                    if tflm["top1"] is not None
                    else ""
                )
                lines.append(
                    f"TensorFlow Lite Micro runs the fix ({len(tflm['ops'])} op types{top1})"
                    + (f"; {tflm['note']}" if s["layers_changed"] else "")
                )
    for row in r.get("calibration_sizes", []):
        lines.append(
            f"calibrated on {row['frames']:>3} picture(s): top-1 {_pct(row['top1'])}, max_rel {_pct(row['max_rel'])}"
        )
    split = r.get("split")
    if split:
        lines.append(
            f"pictures: {r['images']}, split {len(split['calibration'])} calibration / {len(split['search'])} "
            f"search / {len(split['held_out'])} held-out (diagnosis.json lists them)"
        )
    else:
        lines.append(f"calibration: {r['calibration_images']} ({r['calibration_frames']} frames)")
    return "\n".join(lines)
