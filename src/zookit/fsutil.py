"""Writing files so that a final name never holds a half-written file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zookit.errors import ZooError
from zookit.jsonfile import load as load_json


@contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; it is renamed to ``dest`` only if the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_dir(parent: Path, prefix: str) -> Path:
    """A fresh folder in ``parent`` with the usual permissions (mkdtemp alone makes it private)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o777 & ~_umask())
    return path


def swap_in(staging: Path, dest: Path) -> None:
    """Replace the folder ``dest`` by ``staging`` (beside it) so that ``dest`` never holds a partial one."""
    old = None
    if dest.exists():
        old = temp_dir(dest.parent, f".{dest.name}-old-")
        os.replace(dest, old / dest.name)
    os.replace(staging, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_bytes(dest: Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text(dest: Path, text: str) -> None:
    write_bytes(dest, text.encode("utf-8"))


def write_json(dest: Path, data: Any) -> None:
    write_text(dest, json.dumps(data, indent=2, sort_keys=True) + "\n")


def display_path(path: Path) -> str:
    """The path relative to the working folder when it is below it, for short error messages."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_json(path: Path) -> Any:
    """The parsed file, or None when it is missing or unreadable (callers treat that as 'not done'); a
    pipe, a device, a huge or deeply nested file is unreadable too (zookit.jsonfile)."""
    try:
        return load_json(path)
    except (OSError, ValueError):
        return None


# what a stage reads from a data folder: pictures and samples (a SOURCES.md or a labels file beside them
# is not data, and editing it redoes nothing)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
DATA_SUFFIXES = (*IMAGE_SUFFIXES, ".npy", ".npz")


def folder_listing(folder: Path | None) -> list[list[Any]] | None:
    """Names, sizes and modification times of a data folder's pictures and samples: what a stage reading
    it depends on."""
    if folder is None:
        return None
    files = (p for p in folder.iterdir() if p.suffix.lower() in DATA_SUFFIXES and p.is_file())
    return sorted([p.name, st.st_size, st.st_mtime_ns] for p, st in ((p, p.stat()) for p in files))


def remove(path: Path, ignore_errors: bool = False) -> None:
    """Remove a folder with what it holds, or a file. A symbolic link is removed as a link: what it points
    to is never looked into or deleted."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=ignore_errors)
    else:
        path.unlink(missing_ok=True)


def first_link(root: Path, path: Path) -> Path | None:
    """The first symbolic link on the way from ``path`` up to ``root`` (both included), or None: writing
    below it would land wherever the link points."""
    current = path
    while current == root or root in current.parents:
        if current.is_symlink():
            return current
        if current == root:
            break
        current = current.parent
    return None


def refuse_links(root: Path, path: Path) -> None:
    """ZooError when a symbolic link stands on the way from ``path`` up to ``root``: every writer into the
    zoo (fetch, convert, the deployers, diagnose, the report) writes only into the zoo's own folders."""
    link = first_link(root, path)
    if link is not None:
        raise ZooError(
            f"{link} is a symbolic link; zookit does not write through links in the zoo "
            "(remove it, or point --zoo-dir at the real folder)"
        )
