"""`zoo report [NAME...|--all]`: one self-contained HTML page of the zoo (``--out DIR/index.html``, with
the document it is made from as ``DIR/report.json``), built from the zoo's records; ``--baseline`` an
earlier report.json lists what got worse, better or changed (``--fail-on-regression``: exit 1 when
anything got worse)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from zookit.cli import folder_arg, path_arg
from zookit.errors import UsageError


def add_parser(add: Any) -> None:
    p = add("report", cmd_report, "write an HTML page of the zoo's results (no network needed to view it)")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument(
        "--all",
        action="store_true",
        help="every recipe of the recipe folder (the zoo's other folders are counted, not shown)",
    )
    p.add_argument(
        "--zoo-dir", metavar="DIR", type=folder_arg, help="the model zoo folder (default: $ZOO_DIR or ./zoo)"
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        type=folder_arg,
        help="write index.html and report.json here (default: ZOO/report)",
    )
    p.add_argument(
        "--baseline",
        metavar="OLD.json",
        type=path_arg,
        help="an earlier report.json: list what got worse, better or changed since",
    )
    p.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when anything got worse than --baseline"
    )
    p.add_argument(
        "--margin",
        metavar="PCT",
        type=margin_arg,
        help="how much an Ethos-U figure (cycles, SRAM, flash, CPU operators) must grow to be worse than "
        "--baseline, or shrink to be better (default 5%%)",
    )
    p.add_argument(
        "--run", metavar="RUN.json", type=path_arg, help="a `zoo run --report` JSON: show its failed stages"
    )
    p.add_argument("--json", action="store_true", help="print the report's document (report.json) on stdout")


def margin_arg(text: str) -> float:
    """``5%`` or ``5`` (percent) as a share, 0.05: 0 to 1000 percent."""
    import math

    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 5%, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0% to 1000%, got {text!r}")
    return value / 100


def _run_report(path: Path) -> dict[str, Any]:
    from zookit import jsonfile

    data = jsonfile.load_document(path, "--run")
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise UsageError(f"--run {path}: not a `zoo run --report` file (no list of models)")
    return data


def cmd_report(args: argparse.Namespace) -> int:
    from zookit.cli.common import book as _book
    from zookit.fetch import default_zoo_dir
    from zookit.report import build, compare, load_baseline, write

    if args.fail_on_regression and not args.baseline:
        raise UsageError("--fail-on-regression needs --baseline OLD.json (the report to compare with)")
    if args.margin is not None and not args.baseline:
        raise UsageError("--margin needs --baseline OLD.json (the report to compare with)")
    baseline = load_baseline(Path(args.baseline)) if args.baseline else None  # a bad file: before any work
    run = _run_report(Path(args.run)) if args.run else None
    zoo_dir = Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()
    book = _book(args)
    # --all over a recipe folder that holds none: the page of an empty zoo
    recipes = [] if args.all and not args.names and not book.names() else book.select(args.names, args.all)
    out = Path(args.out) if args.out else zoo_dir / "report"
    if not args.out:
        from zookit.fsutil import refuse_links

        refuse_links(out, out)  # the zoo's report folder: never written through a link
    doc = build(zoo_dir, recipes, run=run)
    if baseline is not None:
        doc["regressions"] = compare(
            baseline, doc, **({} if args.margin is None else {"margin": args.margin})
        )
    page = write(doc, out)
    worse = len(doc["regressions"]["worse"]) if baseline is not None else 0
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print_summary(doc, page, args.baseline)
        if args.all and doc["left_out"]:
            print(_left_out(doc["left_out"], book))
    return 1 if worse and args.fail_on_regression else 0


SHOWN_NOTES = 10  # lines about targets and packages that are not passed-and-current, at most
FAILED = ("failed", "unreadable")


def _why(row: dict[str, Any]) -> str:
    """Why a target or package row is worth a line (empty: passed and current)."""
    if row["status"] in ("passed", "ready") and not row.get("stale"):
        return ""
    why = row.get("problem") or ""
    if row.get("stale"):
        why += ("; " if why else "") + f"out of date: {row['stale']}"
    return why or row["status"]


def _left_out(names: list[str], book: Any) -> str:
    """One line: the zoo's model folders that no recipe of the recipe folder names, not reported."""
    from zookit.fsutil import display_path

    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return (
        f"left out {len(names)} model folder(s) of the zoo that no recipe in {display_path(book.folder)} "
        f"names: {shown}"
    )


def print_summary(doc: dict[str, Any], page: Path, baseline: str | None) -> None:
    from zookit.report.compare import describe

    t = doc["totals"]
    notes = [
        f"{row['status']}: {model['name']} {row.get('target') or row.get('deployer')}: {why}"
        for model in doc["models"]
        for row in model["targets"] + [d for d in model["deployers"] if d["status"] in FAILED]
        if (why := _why(row))
    ]
    notes += [
        f"{e['status']}: {model['name']} ethos-u {e['target']} {e['config']}: {e['problem'] or e['status']}"
        for model in doc["models"]
        for e in model.get("ethos_u") or []
        if e["status"] in FAILED
    ]
    for note in notes[:SHOWN_NOTES]:  # a stale zoo of many models would flood the terminal
        print(note, file=sys.stderr)
    if len(notes) > SHOWN_NOTES:
        document = page.parent / "report.json"
        print(f"... and {len(notes) - SHOWN_NOTES} more; see {page} or {document}", file=sys.stderr)
    print(
        f"wrote {page}: {t['models']} model(s), {t['targets']} target(s): {t['passed']} passed, "
        f"{t['failed']} failed, {t['missing']} missing, {t['unreadable']} unreadable; "
        f"{t['deploy_failed']} package(s) failed; {t['out_of_date']} stage(s) to redo"
    )
    reg = doc.get("regressions")
    if reg is not None:
        for kind in ("worse", "better", "changed"):
            for entry in reg[kind]:
                print(f"{kind}: {describe(entry)}")
        print(
            f"against {baseline}: {len(reg['worse'])} worse, {len(reg['better'])} better, "
            f"{len(reg['changed'])} changed"
        )
