"""What the zoo holds of a source file: its fetch record (the stamp beside it: checksum, size, and each
output's size and time, so an unchanged file is not hashed again), the checksum it must have, the lock
taken while it is fetched, and the staging folders a killed unpack left."""

from __future__ import annotations

import glob
from pathlib import Path

from filelock import FileLock

from zookit.errors import FetchError
from zookit.fetch.lockfile import ChecksumLock
from zookit.fsutil import read_json, remove
from zookit.layout import Layout
from zookit.recipe import Recipe, Source


def expected_checksum(recipe: Recipe, source: Source, lock: ChecksumLock) -> str | None:
    """The checksum a source file must have: the recipe's, else the one the zoo's lock file recorded."""
    return source.checksum or lock.get(recipe.name, source.file)


def source_stale_because(recipe: Recipe, source: Source, layout: Layout, lock: ChecksumLock) -> str | None:
    """Why this source file must be fetched (again), or None when it is in the zoo as its record says."""
    expected = expected_checksum(recipe, source, lock)
    if expected is None:
        return f"{source.file} was never fetched (no checksum recorded)"
    if not stamp_valid(layout.stamp(recipe.name, source.file), layout.source(recipe.name), expected):
        return f"{source.file} is not in the zoo, or changed since it was fetched"
    return None


def staging_prefix(file: str) -> str:
    """The name an unpack of ``file`` gives its staging folder (with a random tail)."""
    return f".unpack-{file}-"


def remove_staging(dest: Path, file: str) -> None:
    """Staging folders a killed unpack of this file left in ``dest`` (called under the file's lock)."""
    if not dest.is_dir():
        return
    for leftover in dest.glob(glob.escape(staging_prefix(file)) + "*"):
        remove(leftover, ignore_errors=True)


def safe_lock(path: Path) -> FileLock:
    """A lock file, refusing a symbolic link at its name (taking the lock would truncate its target)."""
    if path.is_symlink():
        raise FetchError(f"{path} is a symbolic link, not a lock file; remove it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path))


def output_stats(dest: Path, outputs: list[Path]) -> dict[str, list[int]]:
    """What the fetch record keeps of each installed file: its path below ``dest``, size and mtime."""
    return {str(p.relative_to(dest)): [p.stat().st_size, p.stat().st_mtime_ns] for p in outputs}


def stamp_valid(stamp: Path, dest: Path, checksum: str) -> bool:
    """True when the stamp says this checksum was installed and every output is unchanged since."""
    data = read_json(stamp)
    if not isinstance(data, dict) or data.get("checksum") != checksum:
        return False
    outputs = data.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return False
    for rel, recorded in outputs.items():
        path = dest / rel
        if not path.is_file() or [path.stat().st_size, path.stat().st_mtime_ns] != recorded:
            return False
    return True


def stamp_size(stamp: Path) -> int:
    data = read_json(stamp)
    return int(data.get("size", 0)) if isinstance(data, dict) else 0
