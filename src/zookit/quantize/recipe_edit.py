"""Write a search's answer into the recipe file: a textual, comment-preserving edit of one target's block
(its ``keep_float`` replaced or added), checked by reading the edited text back as a recipe before the
file is replaced (a temporary file renamed over it: never a half-written recipe). A target written in
flow style (``- {name: ...}``) cannot be edited in place: the error says what to add by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from zookit.errors import UsageError
from zookit.fsutil import atomic_path
from zookit.recipe import load_recipe, recipe_files


def recipe_file(folder: Path, name: str) -> Path:
    for path in recipe_files(folder):
        if path.stem == name:
            return path
    raise UsageError(f"no recipe file for {name} in {folder}")


def keep_float_lines(indent: str, nodes: list[str]) -> list[str]:
    return [f"{indent}keep_float:    # zoo diagnose --goal ... --write", f"{indent}  nodes:"] + [
        f"{indent}    - {json.dumps(n)}" for n in nodes
    ]


def edit_text(text: str, target: str, nodes: list[str]) -> str:
    """The recipe text with ``targets[name=target].keep_float.nodes`` set to ``nodes``."""
    lines = text.splitlines()
    item = re.compile(r"^(\s*)- name:\s*([\"']?)" + re.escape(target) + r"\2\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if item.match(line)), None)
    if start is None:
        raise UsageError(
            f"target {target} is not written as a block (`- name: {target}`) in the recipe; add by hand:\n"
            + "\n".join(keep_float_lines("    ", nodes))
        )
    outer = len(item.match(lines[start]).group(1))  # type: ignore[union-attr]
    indent = " " * (outer + 2)
    end = start + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= outer:
            break
        end += 1
    block = lines[start + 1 : end]
    kept: list[str] = []
    skipping = False
    for line in block:
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if stripped.startswith("keep_float:") and depth == len(indent):
            skipping = True
            continue
        if skipping and (not stripped or depth > len(indent)):
            continue
        skipping = False
        kept.append(line)
    last = max(
        (i for i, line in enumerate(kept) if line.strip() and not line.lstrip().startswith("#")), default=-1
    )
    kept[last + 1 : last + 1] = keep_float_lines(indent, nodes)
    return "\n".join([*lines[: start + 1], *kept, *lines[end:]]) + "\n"


def write_keep_float(path: Path, target: str, nodes: list[str]) -> Path:
    """Apply the change to the recipe file; the edited text must read back as the same recipe with it."""
    text = edit_text(path.read_text(encoding="utf-8"), target, nodes)
    recipe = load_recipe(path, yaml.safe_load(text))
    keep = recipe.target(target).keep_float
    if keep is None or keep.nodes != nodes:
        raise UsageError(
            f"{path}: the edit did not read back as intended; add keep_float to {target} by hand"
        )
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
