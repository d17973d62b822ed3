"""Write a search's answer into the recipe file: a textual, comment-preserving edit of one target's item
(its ``keep_float`` and ``calibration_pictures`` replaced, added or, when not part of the fix, removed). A target written in flow style
(``- {name: ..., format: ...}``, as `zoo new` and the tutorial write it) is rewritten as a block with the
same fields. The edited text must read back as the same document with only those fields changed before
the file is replaced: a temporary file in the real file's folder, given the file's mode, renamed over it
(a recipe that is a symbolic link stays one: its target is edited). ``check_writable`` says before any
work whether the edit can be made (a read-only file is refused, not replaced)."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from zookit.errors import UsageError
from zookit.fsutil import atomic_path
from zookit.recipe import load_recipe, recipe_files

MARK = "# zoo diagnose --goal ... --write"


def recipe_file(folder: Path, name: str) -> Path:
    for path in recipe_files(folder):
        if path.stem == name:
            return path
    raise UsageError(f"no recipe file for {name} in {folder}")


def fix_fields(nodes: list[str], split: bool = True) -> dict[str, Any]:
    """The target fields that reproduce what diagnose measured: the layers kept in float (if any) and,
    for a model calibrated on pictures, calibration on the calibration part of them."""
    fields: dict[str, Any] = {"calibration_pictures": "split"} if split else {}
    if nodes:
        fields["keep_float"] = {"nodes": list(nodes)}
    return fields


def field_lines(indent: str, fields: dict[str, Any]) -> list[str]:
    lines = []
    if "calibration_pictures" in fields:
        lines.append(f"{indent}calibration_pictures: {fields['calibration_pictures']}    {MARK}")
    if "keep_float" in fields:
        lines += [f"{indent}keep_float:    {MARK}", f"{indent}  nodes:"]
        lines += [f"{indent}    - {json.dumps(n)}" for n in fields["keep_float"]["nodes"]]
    return lines


def _by_hand(target: str, fields: dict[str, Any]) -> str:
    return f"add to target {target} by hand:\n" + "\n".join(field_lines("    ", fields))


def _flow_item(line: str, target: str) -> tuple[str, dict[str, Any]] | None:
    """(indent, fields) of a one-line flow-style list item ``- {name: target, ...}``."""
    match = re.match(r"^(\s*)-\s*(\{.*\})\s*(#.*)?$", line)
    if not match:
        return None
    try:
        item = yaml.safe_load(match.group(2))
    except yaml.YAMLError:
        return None
    if not isinstance(item, dict) or item.get("name") != target:
        return None
    return match.group(1), item


def _as_block(indent: str, item: dict[str, Any], comment: str | None) -> list[str]:
    """A flow-style item written as a block, each value as JSON (a YAML flow value)."""
    first = f"{indent}- name: {json.dumps(item['name'])}" + (f"  {comment}" if comment else "")
    return [first] + [f"{indent}  {key}: {json.dumps(value)}" for key, value in item.items() if key != "name"]


def edit_text(text: str, target: str, fields: dict[str, Any]) -> str:
    """The recipe text with ``targets[name=target]`` given ``fields`` (fix_fields)."""
    lines = text.splitlines()
    item = re.compile(r"^(\s*)- name:\s*([\"']?)" + re.escape(target) + r"\2\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if item.match(line)), None)
    if start is None:
        flow = next(((i, f) for i, line in enumerate(lines) if (f := _flow_item(line, target))), None)
        if flow is None:
            raise UsageError(
                f"target {target} is written neither as a block (`- name: {target}`) nor on one line "
                f"(`- {{name: {target}, ...}}`) in the recipe; " + _by_hand(target, fields)
            )
        start, (indent_text, mapping) = flow
        comment = re.search(r"\}\s*(#.*)$", lines[start])
        lines[start : start + 1] = _as_block(indent_text, mapping, comment.group(1) if comment else None)
    outer = len(item.match(lines[start]).group(1))  # type: ignore[union-attr]
    indent = " " * (outer + 2)
    end = start + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= outer:
            break
        end += 1
    kept: list[str] = []
    skipping = False
    for line in lines[start + 1 : end]:
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if depth == len(indent) and stripped.split(":")[0] in ("keep_float", "calibration_pictures"):
            skipping = True
            continue
        if skipping and (not stripped or depth > len(indent)):
            continue
        skipping = False
        kept.append(line)
    last = max(
        (i for i, line in enumerate(kept) if line.strip() and not line.lstrip().startswith("#")), default=-1
    )
    kept[last + 1 : last + 1] = field_lines(indent, fields)
    return "\n".join([*lines[: start + 1], *kept, *lines[end:]]) + "\n"


def _without(doc: Any, target: str) -> Any:
    """The document with the target's fix fields taken out (to compare before and after)."""
    for item in doc.get("targets") or [] if isinstance(doc, dict) else []:
        if isinstance(item, dict) and item.get("name") == target:
            item.pop("keep_float", None)
            item.pop("calibration_pictures", None)
    return doc


def edited(path: Path, target: str, fields: dict[str, Any]) -> str:
    """The edited recipe text, checked: it reads back as a recipe whose target has ``fields`` and is
    otherwise the same document as before."""
    text = path.read_text(encoding="utf-8")
    new = edit_text(text, target, fields)
    try:
        doc, before = yaml.safe_load(new), yaml.safe_load(text)
    except yaml.YAMLError:
        doc = before = None
    got = load_recipe(path, doc).target(target) if isinstance(doc, dict) else None
    keep = got.keep_float.model_dump(exclude_defaults=True) if got and got.keep_float else None
    if (
        got is None
        or keep != fields.get("keep_float")
        or got.calibration_pictures != fields.get("calibration_pictures", "all")
        or _without(doc, target) != _without(before, target)
    ):
        raise UsageError(f"{path}: the edit did not read back as intended; " + _by_hand(target, fields))
    return new


def check_writable(path: Path, target: str) -> None:
    """Refuse before any work when --write could not edit the recipe: a read-only file (by its mode:
    root may write anything), a folder where the replacement cannot be made, or a target item the edit
    cannot find."""
    real = path.resolve()
    mode = real.stat().st_mode
    if not mode & stat.S_IWUSR or not os.access(real, os.W_OK):
        raise UsageError(
            f"{path}: the recipe file is read-only; make it writable (chmod u+w) or leave out --write"
        )
    if not os.access(real.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{real.parent}: cannot write in the recipe's folder; leave out --write")
    edited(path, target, fix_fields(["a placeholder layer"]))


def write_fix(path: Path, target: str, fields: dict[str, Any]) -> Path:
    """Apply the change to the recipe file (through a link: to the file it points to, which keeps its
    mode); return the file written."""
    text = edited(path, target, fields)
    real = path.resolve()
    mode = stat.S_IMODE(real.stat().st_mode)
    with atomic_path(real) as tmp:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, mode)
    return real
