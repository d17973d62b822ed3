"""`zoo new NAME --from FILE_OR_URL`: write a recipe with the model's facts filled in (zookit.scaffold).

The source's size and sha256, the model format, inputs and outputs with shapes and dtypes and a float32
target are read from the file; what cannot be read (description, license, value ranges, the pixels'
mean and scale, a local file's public URL) is marked EDIT and listed. The recipe validates as written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from zookit.cli import folder_arg, path_arg


def add_parser(add: Any) -> None:
    p = add("new", cmd_new, "write a recipe for a model file or URL, its facts read from the file")
    p.add_argument("name", metavar="NAME", type=path_arg, help="the model's name (the recipe is NAME.yaml)")
    p.add_argument(
        "--from",
        dest="source",
        metavar="FILE_OR_URL",
        required=True,
        type=path_arg,
        help="a model file or SavedModel folder, or an http(s) URL (downloaded into the download cache)",
    )
    p.add_argument(
        "--dir",
        metavar="DIR",
        type=folder_arg,
        help="where to write NAME.yaml (default: the --recipes folder when given, else the current folder)",
    )
    p.add_argument("--url", metavar="URL", help="where a local file is published (default: a placeholder)")
    p.add_argument("--tidl", action="store_true", help="add a tidl section (a TIDL package of the target)")
    p.add_argument("--c-array", action="store_true", help="write the TFLite target as a C array too (MCU)")
    p.add_argument("--force", action="store_true", help="replace an existing NAME.yaml")
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        type=folder_arg,
        help="the download cache for a URL (default: $ZOO_CACHE_DIR or the user cache)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_new(args: argparse.Namespace) -> int:
    from zookit.api import new_recipe, recipe_folder
    from zookit.cli.common import libraries_quiet

    folder = Path(args.dir) if args.dir else (recipe_folder(args.recipes) if args.recipes else Path("."))
    with libraries_quiet(args, str(args.source)):
        made = new_recipe(
            args.name,
            args.source,
            folder,
            force=args.force,
            url=args.url,
            tidl=args.tidl,
            c_array=args.c_array,
            cache_dir=args.cache_dir,
        )
    if args.json:
        print(json.dumps(made.as_dict(), indent=2))
        return 0
    recipe = made.recipe
    targets = ", ".join(t.name for t in recipe.targets)
    print(
        f"wrote {made.path}: {recipe.model.format}, {len(recipe.inputs)} input(s), "
        f"{len(recipe.outputs)} output(s), target(s) {targets}"
    )
    for item in made.todo:
        print(f"  edit: {item}")
    return 0
