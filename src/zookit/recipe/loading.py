"""Loading recipes: a YAML file (or an already parsed document) validated into a ``Recipe``, and
pydantic's errors turned into one line each, naming the field (``sources[0].checksum: ...``) and, for an
unknown key, the key meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from zookit.errors import RecipeError
from zookit.fsutil import display_path
from zookit.recipe.files import read_document
from zookit.recipe.model import Recipe


@dataclass(frozen=True)
class LoadedRecipe:
    recipe: Recipe
    path: Path


def parse_recipe(data: Any, where: str) -> Recipe:
    """Validate an already parsed document; ``where`` names it in errors."""
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise RecipeError(where, [f"expected a mapping of recipe fields at the top level, got {kind}"])
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(where, [_describe(err) for err in exc.errors()]) from None


def load_recipe(path: Path, document: Any = None) -> Recipe:
    """Read and validate one recipe file. The file's name (without suffix) must be the recipe's name.
    ``document``: the file's YAML already parsed (RecipeBook's cache), validated all the same."""
    where = display_path(path)
    recipe = checked_recipe(path, read_document(path, where) if document is None else document, where)
    recipe._file = path.resolve()
    return recipe


def checked_recipe(path: Path, data: Any, where: str) -> Recipe:
    """A recipe file's parsed document validated (``where``: the file in errors), its name the file's."""
    recipe = parse_recipe(data, where)
    if recipe.name != path.stem:
        raise RecipeError(where, [f"name: {recipe.name!r} differs from the file name {path.stem!r}"])
    return recipe


# --- error messages ------------------------------------------------------------------------------


def _format_loc(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    msg = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err["type"] == "extra_forbidden":
        key = loc[-1]
        known = _fields_at(loc[:-1])
        hint = difflib.get_close_matches(str(key), known, n=1)
        msg = f"unknown field {str(key)!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        if known and not hint:
            msg += f"; expected one of: {', '.join(known)}"
        loc = loc[:-1]
    elif err["type"] == "missing":
        msg = "required field is missing"
    where = _format_loc(loc)
    return f"{where}: {msg}" if where else msg


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the recipe model found by following ``loc`` from the top."""
    model: Any = Recipe
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _inner_model(field.annotation)
    return list(getattr(model, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    """The first model class inside an annotation (list[X], X | None, Annotated[X, ...])."""
    stack = [annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            return current
        stack.extend(get_args(current))
    return None
