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
from zookit.fsutil import first_link

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


NAME_MAX = 255  # bytes in one path component on the file systems zookit writes to


def list_entries(archive: Path, label: str | None = None) -> list[Entry]:
    """The entries of a tar or zip archive, normalised; raises ArchiveError when unreadable."""
    label = label or archive.name
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                return [_zip_entry(info, zf) for info in zf.infolist()]
        with tarfile.open(archive) as tf:
            return [_tar_entry(info) for info in tf.getmembers()]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError, UnicodeError) as exc:
        raise ArchiveError(
            f"{label}: cannot read the archive ({exc}); it may be truncated or not an archive"
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
    if not info.filename:  # ZipInfo.is_dir() fails on an empty name; check_entries refuses it
        return Entry("", info.file_size, "file", "")
    kind = "dir" if info.is_dir() else "symlink" if stat.S_ISLNK(mode) else "file"
    link = zf.read(info)[:4096].decode("utf-8", "replace") if kind == "symlink" else ""
    name = info.filename
    return Entry(name if name.startswith("/") else _normalise(name), info.file_size, kind, link)


def check_entries(archive: Path, entries: list[Entry], max_unpacked: int, label: str | None = None) -> None:
    """Refuse a hostile archive before anything is written."""
    label = label or archive.name
    total = 0
    seen: dict[str, str] = {}
    links = {e.name for e in entries if e.kind in ("symlink", "hardlink")}
    files = {e.name for e in entries if e.kind == "file"}
    for e in entries:
        where = f"{label}: entry {e.name!r}"
        if e.name in ("", ".") or not e.name.strip("/"):
            raise ArchiveError(f"{label}: an entry has no usable name ({e.name!r}); refusing the archive")
        if any(len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in e.name.split("/")):
            raise ArchiveError(
                f"{label}: entry {e.name[:60]!r}... has a name part longer than {NAME_MAX} bytes"
            )
        if "\0" in e.name:
            raise ArchiveError(f"{label}: an entry name holds a NUL character; refusing the archive")
        if e.name in seen and not (e.kind == seen[e.name] == "dir"):
            raise ArchiveError(f"{where} appears twice; refusing the archive (which copy is meant?)")
        seen[e.name] = e.kind
        parents = [e.name.rsplit("/", i)[0] for i in range(1, e.name.count("/") + 1)]
        if any(p in links for p in parents):
            raise ArchiveError(f"{where} lies below a link in the archive; refusing the archive")
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
            if e.kind == "hardlink" and _normalise(e.link) not in files:
                raise ArchiveError(
                    f"{where} is a hard link to {e.link!r}, which is not a file of the archive"
                )
        total += e.size if e.kind == "file" else 0
        if total > max_unpacked:
            raise ArchiveError(
                f"{label}: expands past the limit of {max_unpacked} bytes; refusing it "
                "(raise the limit with ZOO_MAX_UNPACKED if the archive is trusted)"
            )


def select(archive: Path, entries: list[Entry], wanted: list[str], label: str | None = None) -> list[Entry]:
    """The entries named in ``wanted`` (all regular files and links when empty)."""
    label = label or archive.name
    if not wanted:
        return [e for e in entries if e.kind != "dir"]
    by_name = {e.name: e for e in entries}
    chosen = []
    for name in wanted:
        key = _normalise(name)
        if key not in by_name or by_name[key].kind == "dir":
            close = difflib.get_close_matches(key, list(by_name), n=3)
            hint = f"; close names: {', '.join(close)}" if close else ""
            raise ArchiveError(f"{label}: has no member {name!r}{hint}")
        chosen.append(by_name[key])
    return chosen


def unpack(
    archive: Path,
    dest: Path,
    members: list[str],
    max_unpacked: int = DEFAULT_MAX_UNPACKED,
    verify: Callable[[str, Path], None] | None = None,
    label: str | None = None,
    staging_prefix: str = ".unpack-",
) -> list[Path]:
    """Extract ``members`` (all when empty) of ``archive`` into ``dest``; return the written paths.

    ``verify(name, staged_path)`` may raise to refuse a member before anything is moved into place.
    ``label`` names the archive in errors (the model and file, not the cache's digest).
    """
    label = label or archive.name
    entries = list_entries(archive, label)
    check_entries(archive, entries, max_unpacked, label)
    chosen = select(archive, entries, members, label)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix, dir=dest))
    try:
        _extract(archive, staging, chosen, max_unpacked, label)
        if verify:
            for e in chosen:
                verify(e.name, staging / e.name)
        written = []
        for e in chosen:
            final = dest / e.name
            link = first_link(dest, final.parent)
            if link:  # the member would land wherever the link points
                raise ArchiveError(
                    f"{label}: {link} is a symbolic link; refusing to unpack through it (remove it)"
                )
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.is_dir() and not final.is_symlink():
                raise ArchiveError(f"{label}: entry {e.name!r} would replace the folder {final}")
            os.replace(staging / e.name, final)
            written.append(final)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _extract(archive: Path, staging: Path, chosen: list[Entry], max_unpacked: int, label: str) -> None:
    names = {e.name for e in chosen}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if _normalise(info.filename) in names:
                    if stat.S_ISLNK(info.external_attr >> 16):
                        raise ArchiveError(
                            f"{label}: entry {info.filename!r} is a symbolic link; refusing it"
                        )
                    _copy_limited(label, zf.open(info), staging / _normalise(info.filename), max_unpacked)
        return
    try:
        with tarfile.open(archive) as tf:
            picked = [m for m in tf.getmembers() if _normalise(m.name) in names]
            for m in picked:
                m.name = _normalise(m.name)
            tf.extractall(staging, members=picked, filter="data")
    except tarfile.FilterError as exc:
        raise ArchiveError(f"{label}: refused by the safe-extraction filter: {exc}") from None
    except (tarfile.TarError, EOFError, OSError, KeyError) as exc:
        raise ArchiveError(f"{label}: extraction failed ({exc}); the archive may be truncated") from None
    for e in chosen:
        if e.kind == "hardlink":
            continue
        if e.kind == "file" and (staging / e.name).stat().st_size != e.size:
            raise ArchiveError(f"{label}: entry {e.name!r} is shorter than its header says (truncated?)")


def _copy_limited(label: str, src: IO[bytes], target: Path, limit: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with src as fin, open(target, "wb") as out:
            while chunk := fin.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise ArchiveError(f"{label}: expands past the limit of {limit} bytes; refusing it")
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ArchiveError(f"{label}: extraction failed ({exc}); the archive may be corrupt") from None
