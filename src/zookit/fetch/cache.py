"""A content-addressed cache of downloaded files, shared by every zoo folder on the machine.

An entry's path is its checksum (``files/sha256/ab/ab12...``), so a file is stored once whichever
recipe or zoo asks for it. Entries are read-only and re-verified on every use: a corrupted entry is
deleted and fetched again, never handed out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path

from filelock import FileLock

from zookit.fsutil import atomic_path, write_text
from zookit.hashes import matches, parse_checksum
from zookit.layout import default_cache_dir

log = logging.getLogger(__name__)


class Cache:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_cache_dir()

    def entry(self, checksum: str) -> Path:
        algo, digest = parse_checksum(checksum)
        return self.root / "files" / algo / digest[:2] / digest

    def partial(self, key: str) -> Path:
        """Where a download in progress is kept. A symbolic link planted at that name is removed (the link,
        never what it points to), so a download cannot be steered into another file."""
        folder = self.root / "partial"
        folder.mkdir(parents=True, exist_ok=True)
        part = folder / f"{key}.part"
        for path in (part, origin_of(part)):
            if path.is_symlink():
                log.warning("%s is a symbolic link: removing the link", path)
                path.unlink()
        return part

    def lock(self, key: str) -> FileLock:
        folder = self.root / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / f"{key}.lock"))

    def lookup(self, checksum: str, size: int | None) -> Path | None:
        """The verified entry for ``checksum``, or None; a corrupted entry is removed."""
        path = self.entry(checksum)
        if path.is_symlink():  # never read, chmod or hand out what a planted link points to
            log.warning("cache entry %s is a symbolic link: removing the link and fetching again", path)
            path.unlink()
            return None
        if not path.is_file():
            return None
        if (size is None or path.stat().st_size == size) and matches(path, checksum):
            return path
        log.warning("cache entry %s does not match %s: removing it and fetching again", path, checksum)
        path.unlink()  # never chmod first: the entry may be another link to a user's file (issue 28)
        return None

    def store(self, part: Path, checksum: str) -> Path:
        """Move a verified partial file into the cache under its checksum."""
        path = self.entry(checksum)
        path.parent.mkdir(parents=True, exist_ok=True)
        part.chmod(0o444)
        os.replace(part, path)
        return path

    def remember(self, key: str, checksum: str) -> None:
        """Note which checksum an unpinned URL gave, so other zoo folders can reuse the entry."""
        write_text(self.root / "urls" / f"{key}.txt", checksum + "\n")

    def recall(self, key: str) -> str | None:
        try:
            return (self.root / "urls" / f"{key}.txt").read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


def origin_of(part: Path) -> Path:
    """The file beside a partial download that names where its bytes came from: a partial is only ever
    resumed from that same source."""
    return part.with_name(part.name + ".origin")


def key_for(checksum: str | None, url: str) -> str:
    """A file-name-safe key: the checksum when known, else a digest of the first URL."""
    if checksum:
        algo, digest = parse_checksum(checksum)
        return f"{algo}-{digest}"
    return "url-" + hashlib.sha256(url.encode()).hexdigest()[:32]


def place(entry: Path, dest: Path) -> None:
    """Put a copy (a hard link where possible) of ``entry`` at ``dest``, atomically."""
    with atomic_path(dest) as tmp:
        tmp.unlink()
        try:
            os.link(entry, tmp)
        except OSError:
            shutil.copyfile(entry, tmp)
