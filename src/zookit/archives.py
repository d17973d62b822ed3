"""Archives: unpack tar, tar.gz and zip files safely into one folder.

Every entry is checked before anything is written: absolute paths, ``..``, links that point outside
the folder, device files and archives that expand past a size limit are refused with an error that
names the archive and the entry. Extraction goes to a temporary folder inside the destination, and
each file is renamed into place only once it is complete.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from zookit.errors import ArchiveError

DEFAULT_MAX_UNPACKED = 8 * 1024**3


@dataclass(frozen=True)
class Entry:
    name: str  # normalised: no leading './'
    size: int
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    link: str = ""


def _normalise(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/")).removeprefix("./")


def _escapes(path: str) -> bool:
    return (
        path.startswith("/") or path == ".." or path.startswith("../") or (len(path) > 1 and path[1] == ":")
    )


def list_entries(archive: Path) -> list[Entry]:
    """The entries of a tar or zip archive, normalised; raises ArchiveError when unreadable."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                return [_zip_entry(info, zf) for info in zf.infolist()]
        with tarfile.open(archive) as tf:
            return [_tar_entry(info) for info in tf.getmembers()]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ArchiveError(
            f"{archive.name}: cannot read the archive ({exc}); it may be truncated or not an archive"
        ) from None


def _tar_entry(info: tarfile.TarInfo) -> Entry:
    if info.isfile():
        kind = "file"
    elif info.isdir():
        kind = "dir"
    elif info.issym():
        kind = "symlink"
    elif info.islnk():
        kind = "hardlink"
    else:
        kind = "other"
    return Entry(
        _normalise(info.name) if not info.name.startswith("/") else info.name, info.size, kind, info.linkname
    )


def _zip_entry(info: zipfile.ZipInfo, zf: zipfile.ZipFile) -> Entry:
    mode = info.external_attr >> 16
    kind = "dir" if info.is_dir() else "symlink" if stat.S_ISLNK(mode) else "file"
    link = zf.read(info)[:4096].decode("utf-8", "replace") if kind == "symlink" else ""
    name = info.filename
    return Entry(name if name.startswith("/") else _normalise(name), info.file_size, kind, link)


def check_entries(archive: Path, entries: list[Entry], max_unpacked: int) -> None:
    """Refuse a hostile archive before anything is written."""
    total = 0
    for e in entries:
        where = f"{archive.name}: entry {e.name!r}"
        if _escapes(e.name) or _escapes(_normalise(e.name)):
            raise ArchiveError(
                f"{where} would be written outside the destination folder; refusing the archive"
            )
        if e.kind == "other":
            raise ArchiveError(f"{where} is a device, fifo or other special file; refusing the archive")
        if e.kind in ("symlink", "hardlink"):
            base = posixpath.dirname(e.name) if e.kind == "symlink" else ""
            target = _normalise(posixpath.join(base, e.link)) if e.link else ""
            if not e.link or e.link.startswith("/") or _escapes(target):
                raise ArchiveError(
                    f"{where} is a link to {e.link!r}, outside the destination folder; refusing the archive"
                )
        total += e.size if e.kind == "file" else 0
        if total > max_unpacked:
            raise ArchiveError(
                f"{archive.name}: expands past the limit of {max_unpacked} bytes; refusing it "
                "(raise the limit with ZOO_MAX_UNPACKED if the archive is trusted)"
            )


def select(archive: Path, entries: list[Entry], wanted: list[str]) -> list[Entry]:
    """The entries named in ``wanted`` (all regular files and links when empty)."""
    if not wanted:
        return [e for e in entries if e.kind != "dir"]
    by_name = {e.name: e for e in entries}
    chosen = []
    for name in wanted:
        key = _normalise(name)
        if key not in by_name or by_name[key].kind == "dir":
            close = difflib.get_close_matches(key, list(by_name), n=3)
            hint = f"; close names: {', '.join(close)}" if close else ""
            raise ArchiveError(f"{archive.name}: has no member {name!r}{hint}")
        chosen.append(by_name[key])
    return chosen


def unpack(
    archive: Path,
    dest: Path,
    members: list[str],
    max_unpacked: int = DEFAULT_MAX_UNPACKED,
    verify: Callable[[str, Path], None] | None = None,
) -> list[Path]:
    """Extract ``members`` (all when empty) of ``archive`` into ``dest``; return the written paths.

    ``verify(name, staged_path)`` may raise to refuse a member before anything is moved into place.
    """
    entries = list_entries(archive)
    check_entries(archive, entries, max_unpacked)
    chosen = select(archive, entries, members)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        _extract(archive, staging, chosen, max_unpacked)
        if verify:
            for e in chosen:
                verify(e.name, staging / e.name)
        written = []
        for e in chosen:
            final = dest / e.name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / e.name, final)
            written.append(final)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract(archive: Path, staging: Path, chosen: list[Entry], max_unpacked: int) -> None:
    names = {e.name for e in chosen}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if _normalise(info.filename) in names:
                    if stat.S_ISLNK(info.external_attr >> 16):
                        raise ArchiveError(
                            f"{archive.name}: entry {info.filename!r} is a symbolic link; refusing it"
                        )
                    _copy_limited(archive, zf.open(info), staging / _normalise(info.filename), max_unpacked)
        return
    try:
        with tarfile.open(archive) as tf:
            picked = [m for m in tf.getmembers() if _normalise(m.name) in names]
            for m in picked:
                m.name = _normalise(m.name)
            tf.extractall(staging, members=picked, filter="data")
    except tarfile.FilterError as exc:
        raise ArchiveError(f"{archive.name}: refused by the safe-extraction filter: {exc}") from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(
            f"{archive.name}: extraction failed ({exc}); the archive may be truncated"
        ) from None
    for e in chosen:
        if e.kind == "hardlink":
            continue
        if e.kind == "file" and (staging / e.name).stat().st_size != e.size:
            raise ArchiveError(
                f"{archive.name}: entry {e.name!r} is shorter than its header says (truncated?)"
            )


def _copy_limited(archive: Path, src: IO[bytes], target: Path, limit: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with src as fin, open(target, "wb") as out:
            while chunk := fin.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise ArchiveError(
                        f"{archive.name}: expands past the limit of {limit} bytes; refusing it"
                    )
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ArchiveError(f"{archive.name}: extraction failed ({exc}); the archive may be corrupt") from None
