"""TI Deep Learning (TIDL): import packages, TI's prototxt schemas, the accelerator operator check.

Only what a command that packages nothing needs lives here (the tool folder's place): `zoo report` and
`zoo run --dry-run` read it without importing the package writer (numpy, protobuf)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zookit.errors import UsageError
from zookit.fsutil import display_path

TOOLS_ENV = "TIDL_TOOLS_PATH"


def tools_path(given: Path | None) -> Path | None:
    """TI's tidl_tools folder: ``--tidl-tools DIR``, else ``$TIDL_TOOLS_PATH``, else unknown (None)."""
    path = given or (Path(os.environ[TOOLS_ENV]) if os.environ.get(TOOLS_ENV) else None)
    if path is not None and not path.is_dir():
        origin = "--tidl-tools" if given else TOOLS_ENV
        raise UsageError(f"{origin}: {path} is not a folder (TI's compile step needs the tidl_tools folder)")
    return path.resolve() if path is not None else None


def recipe_file(recipe: Any) -> str:
    """Where the recipe was read from, as the package's texts name it: relative to the working folder
    when it is below it, else absolute (``recipes/<name>.yaml`` for a recipe made in memory)."""
    path = getattr(recipe, "_file", None)
    return display_path(path) if isinstance(path, Path) else f"recipes/{recipe.name}.yaml"
