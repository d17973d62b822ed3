"""Reading recipe files: YAML to plain data, bounded, and the parsed-recipe cache.

A recipe file is read as bytes and parsed with a safe loader; a document that expands past
``MAX_VALUES`` values (YAML aliases nest a "billion laughs" in a few lines) is refused before anything
walks it. The cache keeps each file's parsed document under the SHA-256 of the file's bytes, so an edit
is seen whatever the file's size and modification time say (``cp -p`` and ``rsync -a`` keep them). The
cache file is read only when it is a regular file of ours (owned by this user, writable by no one else,
not a link, at most ``MAX_CACHE_BYTES``) and of the expected shape; otherwise it is ignored and the files
are parsed. Every document, cached or not, is validated as a recipe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from zookit.errors import RecipeError
from zookit.recipe.fastyaml import SAFE_LOADER as SAFE_LOADER  # where it was; fastyaml holds it now
from zookit.recipe.fastyaml import load_yaml

MAX_VALUES = 100_000  # a recipe has a few hundred; aliases can multiply a small file past any memory
MAX_CACHE_BYTES = 64 << 20
log = logging.getLogger(__name__)


def read_document(path: Path, where: str, data: bytes | None = None) -> Any:
    """A recipe file's YAML as plain data."""
    try:
        text = (path.read_bytes() if data is None else data).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(where, [f"cannot read the file: {exc}"]) from None
    try:
        document, size = load_yaml(text)  # yaml.load(text, Loader=SAFE_LOADER)'s result, sooner
    except yaml.YAMLError as exc:
        message = str(exc).replace('"<unicode string>"', where).replace("<unicode string>", where)
        raise RecipeError(where, [f"not valid YAML: {' '.join(message.split())}"]) from None
    except RecursionError:
        raise RecipeError(where, ["not valid YAML: nested too deeply"]) from None
    except (ValueError, TypeError, OverflowError, AttributeError) as exc:
        # a tagged value the YAML constructor cannot build: !!float abc, !!int 0xZZ, a bad !!timestamp,
        # an integer past Python's digit limit
        reason = " ".join(str(exc).split())[:200]
        raise RecipeError(
            where, [f"not valid YAML: a value cannot be read ({type(exc).__name__}: {reason})"]
        ) from None
    if (size > MAX_VALUES) if size is not None else _expands_past(document, MAX_VALUES):
        raise RecipeError(
            where,
            [f"the document expands to more than {MAX_VALUES} values (YAML aliases repeating each other?)"],
        )
    return document


def _expands_past(document: Any, limit: int) -> bool:
    """Whether walking the document (aliases expanded, as validation walks it) meets more than ``limit``
    values; stops as soon as it does, so the walk itself is bounded. A self-referencing document counts
    as too large."""
    stack, seen = [document], 0
    while stack:
        value = stack.pop()
        seen += 1
        if seen > limit:
            return True
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
    return False


def _as_json(document: Any) -> Any | None:
    """The document as JSON holds it, when it holds it exactly (no dates, bytes, sets, non-string keys)."""
    try:
        text = json.dumps(document)
        return document if json.loads(text) == document else None
    except (TypeError, ValueError, RecursionError):
        return None


def read_own_cache(path: Path) -> Any:
    """A cache file of ours as JSON (read only when it is our own private regular file); None when it is
    missing, not ours or not JSON (logged: the cache is then rebuilt, never trusted)."""
    raw = _read_own_file(path)
    try:
        return json.loads(raw) if raw is not None else None
    except (ValueError, RecursionError) as exc:
        log.info("recipe cache %s not used: %s", path, exc)
        return None


def _read_own_file(path: Path) -> bytes | None:
    """The bytes of a regular file owned by this user and writable by no one else; None otherwise (a
    link, a FIFO, a device, another user's or a group-writable file, or one too large)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            log.info("recipe cache %s not used: %s", path, exc)
        return None
    try:
        st = os.fstat(fd)
        ours = not hasattr(os, "getuid") or st.st_uid == os.getuid()
        if not stat.S_ISREG(st.st_mode) or not ours or st.st_mode & 0o022 or st.st_size > MAX_CACHE_BYTES:
            log.info("recipe cache %s not used: not a private regular file of at most 64 MiB", path)
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_CACHE_BYTES + 1)
    finally:
        os.close(fd)


class ParsedCache:
    """The YAML of a recipe folder's files, parsed once: ``<cache>/recipes/<folder digest>.json`` maps each
    file name to the SHA-256 of its bytes and its parsed document. Reading YAML is most of the time
    `zoo list` takes on a big zoo; hashing a file is a small part of that. The cache is an optimisation:
    when it cannot be read or written, the files are parsed (logged, with -v)."""

    VERSION = 2

    def __init__(self, folder: Path):
        from zookit.layout import default_cache_dir

        key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:24]
        self.path = default_cache_dir() / "recipes" / f"{key}.json"
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        data = read_own_cache(self.path)
        files = data.get("files") if isinstance(data, dict) and data.get("version") == self.VERSION else None
        if isinstance(files, dict):
            self.entries = {
                n: e
                for n, e in files.items()
                if isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], dict)
            }

    def document(self, path: Path, where: str) -> Any:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        entry = self.entries.get(path.name)
        if entry is not None and entry[0] == digest:
            return entry[1]
        document = read_document(path, where, data)
        exact = _as_json(document)
        if isinstance(exact, dict):
            self.entries[path.name] = [digest, exact]
            self.changed = True
        return document

    def save(self, names: set[str]) -> None:
        if not self.changed and names == set(self.entries):
            return
        from zookit.fsutil import write_text

        files = {n: e for n, e in self.entries.items() if n in names}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text(self.path, json.dumps({"version": self.VERSION, "files": files}))
            os.chmod(self.path, 0o600)
        except OSError as exc:
            log.info("recipe cache %s not written: %s", self.path, exc)
