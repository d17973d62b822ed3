"""`zoo tflm`, `zoo openvino`, ...: one command per deployer of the table (zookit.deploy.DEPLOYERS), made
from the table, so a deployer added there gets its command with no code here. TIDL keeps its own
command (`zoo tidl`, cli/stages.py: TI's tool folder and --strict)."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any

from zookit.cli import existing_dir
from zookit.cli.common import (
    add_samples,
    add_selection,
    book,
    data_folder,
    picture_folder,
    print_json,
    show_log,
)
from zookit.deploy import DEPLOYERS
from zookit.errors import UsageError

OWN_COMMAND = {"tidl"}  # deployers whose command is written by hand

HELP = {
    "tflm": "run the C-array targets under TensorFlow Lite Micro: arena, flash, firmware headers, verified",
    "openvino": "write the OpenVINO IR (float and NNCF int8), verified against the source and timed",
    "ethos_u": "compile the int8 TFLite targets for Arm Ethos-U NPUs with Vela: SRAM, flash, cycles, CPU fall-backs",
}


def add_parser(add: Any) -> None:
    for name, deployer in DEPLOYERS.items():
        if name in OWN_COMMAND:
            continue
        extra = f" (extra [{deployer.extra}])" if deployer.extra else ""
        # a name with "_" is also a command with "-" (zoo ethos_u, zoo ethos-u)
        for command in dict.fromkeys([name, name.replace("_", "-")]):
            _add_command(add, command, name, HELP.get(name, f"make the {name} package") + extra)


def _add_command(add: Any, command: str, name: str, help_: str) -> None:
    p = add(command, partial(cmd_deploy, name), help_)
    add_selection(p)
    p.add_argument(
        "--target", action="append", metavar="T", help=f"only this target's {name} stage (repeatable)"
    )
    p.add_argument(
        "--images",
        metavar="DIR",
        type=existing_dir,
        help="pictures to verify and calibrate with (default: the shipped image set)",
    )
    add_samples(p)
    p.add_argument(
        "--calibration-images",
        metavar="DIR",
        type=existing_dir,
        help="pictures to calibrate with when --images is not given",
    )
    p.add_argument("--json", action="store_true", help="print a JSON result on stdout")


def cmd_deploy(name: str, args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from zookit.fetch import default_zoo_dir
    from zookit.pipeline.commands import deploy_model
    from zookit.pipeline.run import captured_output
    from zookit.pipeline.stages import RunOptions
    from zookit.pipeline.summary import figures_text

    deployer = DEPLOYERS[name]
    recipes = book(args).select(args.names, args.all)
    if args.all:  # every recipe that deploys here; a model named is deployed or refused
        recipes = [r for r in recipes if deployer.section(r) is not None]
        if not recipes:
            raise UsageError(f"no recipe of the folder deploys to {name} (docs/recipes.md)")
    options = RunOptions(
        zoo_dir=(Path(args.zoo_dir) if args.zoo_dir else default_zoo_dir()).resolve(),
        images=data_folder(args, recipes),
        samples=args.samples is not None,
        calibration_images=picture_folder(args.calibration_images, recipes, "--calibration-images"),
    )
    rows: list[dict[str, Any]] = []
    for recipe in recipes:
        with captured_output() as log:  # the libraries' own lines: shown for a failure, or with -v
            made = deploy_model(recipe, name, options, args.target)
        rows += made
        show_log(args, recipe.name, log[0], any(r["status"] != "ok" for r in made))
        if args.json:
            continue
        for row in made:
            if row["status"] == "ok":
                print(f"ok {row['model']}: {row['stage']}: {figures_text(row['figures'])}")
            else:
                print(f"FAILED {row['model']}: {row['stage']}: {row['error']}", file=sys.stderr)
    failed = sum(1 for r in rows if r["status"] != "ok")
    if args.json:
        print_json({"deployer": name, "results": rows, "failed": failed})
    return 1 if failed else 0
