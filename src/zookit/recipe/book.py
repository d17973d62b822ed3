"""The recipe book: the folders recipes are read from (a path, or a zoo shipped inside the package) and
``RecipeBook``, every recipe of one folder, loaded lazily, with the broken ones' errors kept apart."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from zookit.errors import RecipeError, UsageError
from zookit.fsutil import display_path
from zookit.recipe.files import ParsedCache
from zookit.recipe.loading import load_recipe
from zookit.recipe.model import Recipe

RECIPE_SUFFIXES = (".yaml", ".yml")
_PACKAGE = Path(__file__).resolve().parent.parent  # zookit/: the shipped zoos' folders are below it

# The zoos shipped inside the package, by name (``--recipes mlperf-tiny``): folder below the package.
SHIPPED_ZOOS = {"mlperf-inference": "recipes", "mlperf-tiny": "recipes/mlperf_tiny"}
# the same zoos by their folders' names
ZOO_ALIASES = {"mlperf_tiny": "mlperf-tiny", "mlperf_inference": "mlperf-inference"}


def recipes_dir(value: str) -> Path:
    """A recipe folder given as a path, or as the name of a shipped zoo (a folder of that name wins)."""
    if not value.strip() or "\0" in value:
        raise UsageError(
            "--recipes / $ZOO_RECIPES: give a folder or a shipped zoo's name (empty or NUL here)"
        )
    path = Path(value)
    name = ZOO_ALIASES.get(value, value)
    if name in SHIPPED_ZOOS and not path.is_dir():
        return _PACKAGE / SHIPPED_ZOOS[name]
    return path


def _shipped_zoo_holding(name: str, searched: Path) -> str | None:
    """The shipped zoo, other than the folder searched, that has a recipe of this name."""
    for zoo, folder in SHIPPED_ZOOS.items():
        path = _PACKAGE / folder
        if path.resolve() != searched.resolve() and any(
            (path / f"{name}{s}").is_file() for s in RECIPE_SUFFIXES
        ):
            return zoo
    return None


def default_recipes_dir() -> Path:
    """``$ZOO_RECIPES``, else the MLPerf inference recipes shipped inside the package."""
    return recipes_dir(os.environ.get("ZOO_RECIPES") or "mlperf-inference")


def recipe_files(folder: Path) -> list[Path]:
    if folder.exists() and not folder.is_dir():
        raise UsageError(
            f"recipe folder {display_path(folder)} is a file, not a folder; pass --recipes DIR with the folder "
            f"that holds the recipes (or a shipped zoo: {', '.join(SHIPPED_ZOOS)})"
        )
    if not folder.is_dir():
        raise UsageError(
            f"recipe folder {display_path(folder)} does not exist; pass --recipes DIR (or a shipped zoo: "
            f"{', '.join(SHIPPED_ZOOS)}) or set ZOO_RECIPES"
        )
    # one folder read (os.scandir: no stat per file but for links, which Path.is_file follows as before),
    # sorted by name as the paths of one folder sort
    with os.scandir(folder) as entries:
        names = [
            e.name
            for e in entries
            if os.path.splitext(e.name)[1] in RECIPE_SUFFIXES
            and (Path(e.path).is_file() if e.is_symlink() else e.is_file())
        ]
    return [folder / name for name in sorted(names)]


def _read(path: Path, cache: ParsedCache | None = None) -> Recipe | RecipeError:
    """One recipe file loaded (its YAML through the folder's parsed-YAML cache, when given), or its error."""
    try:
        return load_recipe(path, None if cache is None else cache.document(path, display_path(path)))
    except RecipeError as exc:
        return exc
    except OSError as exc:  # gone or unreadable since the folder was listed
        return RecipeError(display_path(path), [f"cannot read the file: {exc}"])


SHOWN_NAMES = 20  # an unknown name's error lists this many known ones (a zoo may hold 10,000)


def _some(names: list[str]) -> str:
    if not names:
        return "none"
    if len(names) <= SHOWN_NAMES:
        return ", ".join(names)
    return f"{', '.join(names[:SHOWN_NAMES])}, ... ({len(names)} in all: zoo list shows them)"


class RecipeBook:
    """All recipes of a folder, loaded lazily, with the errors of the broken ones kept apart."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or default_recipes_dir()
        self._alone: dict[str, Recipe] = {}  # recipes loaded by name alone (get), before the whole folder

    @cached_property
    def _files(self) -> list[Path]:
        """The folder's recipe files, listed once per book (as the whole folder is loaded once)."""
        return recipe_files(self.folder)

    @cached_property
    def _loaded(self) -> tuple[dict[str, Recipe], dict[str, RecipeError]]:
        good: dict[str, Recipe] = {}
        bad: dict[str, RecipeError] = {}
        cache = ParsedCache(self.folder)
        for path in self._files:
            found = _read(path, cache)
            if isinstance(found, RecipeError):
                bad[path.stem] = found
            else:
                good[path.stem] = found
        cache.save({p.name for p in self._files})
        return good, bad

    def survey(self) -> tuple[dict[str, dict[str, Any]], dict[str, RecipeError]]:
        """What `zoo list` shows of each valid recipe and the errors of the others, by name, from the
        validated-recipe cache (zookit.recipe.cache): no Recipe is built."""
        from zookit.recipe.cache import listing

        return listing(self.folder, recipe_files(self.folder))

    @property
    def recipes(self) -> dict[str, Recipe]:
        return self._loaded[0]

    @property
    def errors(self) -> dict[str, RecipeError]:
        return self._loaded[1]

    def names(self) -> list[str]:
        """Every recipe's name, valid or not (a file's name without its suffix: each file is one or the
        other), without loading the folder when it is not loaded yet."""
        if "_loaded" not in self.__dict__:
            return sorted({p.stem for p in self._files})
        return self._loaded_names()

    def _loaded_names(self) -> list[str]:
        """Every recipe's name, the whole folder loaded (now, if it was not)."""
        return sorted(set(self.recipes) | set(self.errors))

    def get(self, name: str) -> Recipe:
        """The recipe ``name``; its error when its file (or one of x.yaml and x.yml) is broken. Only its
        file is read unless the whole folder is loaded already (`zoo show x` in a zoo of 10,000 recipes)."""
        if "_loaded" not in self.__dict__:
            found = self._load_alone(name)
            if found is not None:
                return found
        elif name in self.errors:
            raise self.errors[name]
        elif name in self.recipes:
            return self.recipes[name]
        names = self.names()
        hint = difflib.get_close_matches(name, names, n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        shipped = _shipped_zoo_holding(name, self.folder)
        elsewhere = f"; {name} is in the shipped zoo {shipped}: pass --recipes {shipped}" if shipped else ""
        raise UsageError(
            f"no recipe named {name!r} in {display_path(self.folder)}{did_you_mean}{elsewhere}; "
            f"known: {_some(names)}"
        )

    def _load_alone(self, name: str) -> Recipe | None:
        """The recipe ``name`` read from its own file(s) only (once), as the whole folder's loading has it
        (the last valid one of x.yaml and x.yml, unless either is broken: then the last error); None when
        the folder holds no file of that name."""
        if name in self._alone:
            return self._alone[name]
        good: Recipe | None = None
        bad: RecipeError | None = None
        for path in (p for p in self._files if p.stem == name):
            found = _read(path)
            if isinstance(found, RecipeError):
                bad = found
            else:
                good = found
        if bad is not None:
            raise bad
        if good is not None:
            self._alone[name] = good
        return good

    def select(self, names: Iterable[str], all_: bool) -> list[Recipe]:
        names = list(names)
        if all_ and names:
            raise UsageError("give model names or --all, not both")
        if all_:  # the whole folder loaded at once (each file's YAML parsed once into the cache)
            names = self._loaded_names()
        if not names:
            raise UsageError("name at least one model, or pass --all")
        return [self.get(n) for n in names]
