"""What `zoo list` and `zoo validate` say of each recipe file, remembered: the validated-recipe cache.

Validating a recipe (YAML, then the recipe model) costs about a millisecond; a zoo of 10,000 recipes would
pay it on every listing. ``<cache>/recipe-verdicts/<folder digest>.json`` holds, per file of a recipe
folder, the SHA-256 of its bytes and the verdict on them: for a valid recipe the fields `zoo list` shows,
for an invalid one its error lines (with the file's name as they were written, reused only under the
same name). The whole file is keyed by the digest of zookit's own code and the versions of the libraries
whose messages it repeats (pydantic, PyYAML): a newer zookit, an edited validator or another pydantic
starts afresh.

A file is read and hashed again unless what the system says of it (device, inode, size, modification
and change times, the file a link points to followed) is what it said when its verdict was stored. The
change time is set by the kernel on any write, rename into place or ``touch`` and cannot be set back by
a user, so a file swapped in with the same size and modification time is read again. A file changed less
than ``RACY_SECONDS`` before its verdict was stored is hashed next time whatever its times say (a clock
tick can hide a quick second edit). The cache file is written whole (a temporary file beside it, then a
rename) and read only when it is a private regular file of ours of the expected shape; anything else is
ignored and rebuilt. A file that cannot be read is reported and never remembered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zookit.errors import RecipeError
from zookit.fsutil import display_path
from zookit.recipe.files import read_own_cache
from zookit.recipe.judging import Judged, Task, Verdict, identity, judge, read, read_and_judge_all, summary

__all__ = ["Verdict", "VerdictCache", "judge", "listing", "summary", "survey", "verdicts"]

FORMAT = 2  # 2: each verdict also lists the config files its validation consulted
RACY_SECONDS = 2.0
ROW_FIELDS = ("name", "task", "format", "targets", "description")
log = logging.getLogger(__name__)


_CODE_KEY: str | None = None


def code_key() -> str:
    """The digest of zookit's own code and of the versions of pydantic and PyYAML (their messages end
    up in recipe errors): a cache written by other code is not read."""
    global _CODE_KEY
    if _CODE_KEY is None:
        from importlib.metadata import PackageNotFoundError, version

        digest = hashlib.sha256()
        package = Path(__file__).resolve().parent
        for path in sorted(package.rglob("*.py")):
            digest.update(f"{path.relative_to(package)}\0".encode())
            digest.update(path.read_bytes())
        for name in ("pydantic", "pydantic-core", "PyYAML"):
            try:
                digest.update(f"{name}={version(name)}\0".encode())
            except PackageNotFoundError:
                digest.update(f"{name}=none\0".encode())
        _CODE_KEY = digest.hexdigest()
    return _CODE_KEY


def _is_strings(value: Any) -> bool:
    return type(value) is list and all(type(v) is str for v in value)


def _well_formed(entry: Any) -> bool:
    """[identity or None, sha256 hex, row or None, where or None, problems or None, consulted]: a row of
    the fields `zoo list` shows, or an error with its lines, never both; the config files validation read
    ({name: identity}). (Checked for each of 10,000 entries: kept to plain type tests.)"""
    if type(entry) is not list or len(entry) != 6:
        return False
    identity, digest, row, where, problems, consulted = entry
    if type(consulted) is not dict or not all(type(v) is str for v in consulted.values()):
        return False
    if (identity is not None and type(identity) is not str) or type(digest) is not str or len(digest) != 64:
        return False
    if row is None:
        return type(where) is str and bool(problems) and _is_strings(problems)
    if where is not None or problems is not None or type(row) is not dict or len(row) != len(ROW_FIELDS):
        return False
    try:
        strings = (row["name"], row["task"], row["format"], row["description"])
        targets = row["targets"]
    except KeyError:
        return False
    return all(type(v) is str for v in strings) and _is_strings(targets)


class VerdictCache:
    """The stored verdicts of one recipe folder's files."""

    def __init__(self, folder: Path, cache_dir: Path | None = None):
        from zookit.layout import default_cache_dir

        key = hashlib.sha256(os.fsencode(folder.resolve())).hexdigest()[:24]
        self.path = (cache_dir or default_cache_dir()) / "recipe-verdicts" / f"{key}.json"
        self.entries: dict[str, list[Any]] = {}
        self.changed = False
        self.consulted_now: dict[str, str] = {}  # a consulted file's identity now, looked up once
        self._cwd: str | None = None  # the working folder, resolved (where)
        self._parents: dict[Path, str] = {}  # a folder as the paths spell it: resolved (where)
        data = read_own_cache(self.path)
        ours = isinstance(data, dict) and data.get("format") == FORMAT and data.get("code") == code_key()
        files = data.get("files") if ours and isinstance(data, dict) else None
        if isinstance(files, dict):
            self.entries = {n: e for n, e in files.items() if _well_formed(e)}

    def verdict(self, path: Path) -> Verdict:
        """The verdict on the file now at ``path`` (a file of this folder)."""
        found = self.lookup(path)
        if isinstance(found, Verdict):
            return found
        return self.settle(path, read_and_judge_all([found], RACY_SECONDS)[0])

    def lookup(self, path: Path) -> Verdict | Task:
        """The verdict on the file now at ``path`` when known without judging it (the stored one, found by
        the file's identity or, for a file with a stored verdict, by its bytes' digest; or an unreadable
        file's), else the task of judging it."""
        entry = self.entries.get(path.name)
        try:
            st = os.stat(path)
        except OSError as exc:  # gone since the folder was listed, or a dangling link
            return Verdict(path, None, RecipeError(self.where(path), [f"cannot read the file: {exc}"]))
        if entry is not None and entry[0] is not None and entry[0] == identity(st):
            found = self._stored(path, entry)
            if found is not None:
                return found
        if not stat.S_ISREG(st.st_mode):  # a FIFO or a device: validated as today, never remembered
            return judge(path)
        if entry is None:  # a new file: read where it is judged
            return Task(path, self.where(path))
        try:
            data, ident = read(path, RACY_SECONDS)
        except OSError as exc:
            return Verdict(path, None, RecipeError(self.where(path), [f"cannot read the file: {exc}"]))
        if entry[1] == hashlib.sha256(data).hexdigest():  # touched, copied back, or read too soon last time
            found = self._stored(path, entry)
            if found is not None:
                if entry[0] != ident:
                    entry[0] = ident
                    self.changed = True
                return found
        return Task(path, self.where(path), (data, ident))

    def settle(self, path: Path, judged: Judged | Verdict) -> Verdict:
        """The verdict on a file read and judged (``read_and_judge``), remembered."""
        if isinstance(judged, Verdict):  # it could not be read: never remembered
            return judged
        verdict, digest, ident = judged
        error = verdict.error
        self.entries[path.name] = [
            ident,
            digest,
            verdict.row,
            None if error is None else error.path,
            None if error is None else error.problems,
            verdict.consulted or {},
        ]
        self.changed = True
        return verdict

    def where(self, path: Path) -> str:
        """``display_path(path)``, sooner for a file that is not a link: its folder resolved once."""
        if os.name != "posix" or path.name in ("", ".", "..") or os.path.islink(path):
            return display_path(path)
        if self._cwd is None:
            self._cwd = str(Path.cwd().resolve())
        parent = self._parents.get(path.parent)
        if parent is None:
            parent = self._parents[path.parent] = str(path.parent.resolve())
        full = f"{parent.rstrip('/')}/{path.name}"
        inside = f"{self._cwd.rstrip('/')}/"
        if full == self._cwd:
            return "."
        return full[len(inside) :] if full.startswith(inside) else str(path)

    def _stored(self, path: Path, entry: list[Any]) -> Verdict | None:
        """The stored verdict; None for an error stored under another name for the file than it has now
        (the working folder changed: its lines name the file), or when a config file its validation read
        is not the same file now (edited, removed, Vela installed or removed)."""
        _, _, row, where, problems, consulted = entry
        for name, then in consulted.items():
            if name not in self.consulted_now:
                from zookit.recipe.ethos_u import consulted_identity

                self.consulted_now[name] = consulted_identity(name)
            if self.consulted_now[name] != then:
                return None
        if row is not None:
            return Verdict(path, row, None) if row["name"] == path.stem else None
        if where != self.where(path):
            return None
        return Verdict(path, None, RecipeError(where, list(problems)))

    def save(self, names: set[str] | None = None) -> None:
        """Write the verdicts (only those of ``names``, the folder's files now, when given) if any changed."""
        if names is not None and not names >= set(self.entries):
            self.entries = {n: e for n, e in self.entries.items() if n in names}
            self.changed = True
        if not self.changed:
            return
        from zookit.fsutil import write_text

        document = {"format": FORMAT, "code": code_key(), "files": self.entries}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_text(self.path, json.dumps(document, separators=(",", ":")))
            os.chmod(self.path, 0o600)
        except OSError as exc:
            log.info("recipe cache %s not written: %s", self.path, exc)
        self.changed = False


def survey(folder: Path, files: list[Path]) -> list[Verdict]:
    """The verdict on each of ``files`` (all the recipe files of ``folder``), from the cache when current;
    the cache is then rewritten with exactly these files if anything changed."""
    cache = VerdictCache(folder)
    verdicts = _settled([(cache, path, cache.lookup(path)) for path in files])
    cache.save({p.name for p in files})
    return verdicts


def _settled(looked: Sequence[tuple[VerdictCache, Path, Verdict | Task]]) -> list[Verdict]:
    """The verdicts on files looked up in their caches: those not known read and judged together (by
    worker processes when they are many, zookit.recipe.judging), in order, and remembered."""
    pending = [found for _, _, found in looked if isinstance(found, Task)]
    judged = iter(read_and_judge_all(pending, RACY_SECONDS))
    return [
        found if isinstance(found, Verdict) else cache.settle(path, next(judged))
        for cache, path, found in looked
    ]


def listing(folder: Path, files: list[Path]) -> tuple[dict[str, dict[str, Any]], dict[str, RecipeError]]:
    """What `zoo list` shows of each valid recipe of ``files`` and the errors of the others, by name (a
    name held by a valid and a broken file, x.yaml and x.yml, is in both, as RecipeBook has it)."""
    rows: dict[str, dict[str, Any]] = {}
    errors: dict[str, RecipeError] = {}
    for verdict in survey(folder, files):
        if verdict.error is not None:
            errors[verdict.path.stem] = verdict.error
        elif verdict.row is not None:
            rows[verdict.path.stem] = verdict.row
    return rows, errors


def verdicts(paths: list[Path]) -> list[Verdict]:
    """The verdict on each of ``paths`` (recipe files anywhere, as `zoo validate` is given them); the
    caches of their folders keep their other files' verdicts."""
    by_parent: dict[Path, VerdictCache] = {}
    caches: dict[Path, VerdictCache] = {}  # one per folder, however its paths spell it
    looked = []
    for path in paths:
        cache = by_parent.get(path.parent)
        if cache is None:
            folder = path.parent.resolve()
            if folder not in caches:
                caches[folder] = VerdictCache(folder)
            cache = by_parent[path.parent] = caches[folder]
        looked.append((cache, path, cache.lookup(path)))
    out = _settled(looked)
    for cache in caches.values():
        cache.save()
    return out
