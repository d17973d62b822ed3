"""Where a source file may come from, in order: mirrors (URLs, or folders searched by file name), then
the recipe's URLs unless offline."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from urllib.parse import urlsplit

from zookit.recipe import Source


@dataclass(frozen=True)
class Candidate:
    """One place to try: a URL or a file in a mirror folder, and how the fetch's report names it."""

    label: str
    url: str | None = None
    path: Path | None = None


MIRROR_DEPTH = 6  # how deep a mirror folder is searched for a file name


class MirrorIndex:
    """Where each file name lies below a mirror folder: the top level first, then every folder below it
    down to MIRROR_DEPTH levels (links to folders are not followed), nearest first. Built once per folder
    and fetch, only when a file is not at the top."""

    def __init__(self) -> None:
        self._folders: dict[Path, dict[str, list[Path]]] = {}
        self._mutex = Lock()

    def find(self, folder: Path, name: str) -> list[Path]:
        top = folder / name
        if top.is_file():
            return [top]
        with self._mutex:
            if folder not in self._folders:
                self._folders[folder] = self._walk(folder)
            return self._folders[folder].get(name, [])

    @staticmethod
    def _walk(folder: Path) -> dict[str, list[Path]]:
        index: dict[str, list[Path]] = {}
        base = len(folder.parts)
        for top, dirs, files in os.walk(folder):
            here = Path(top)
            if len(here.parts) - base >= MIRROR_DEPTH:
                dirs.clear()
            dirs.sort()
            for f in sorted(files):
                if (here / f).is_file():
                    index.setdefault(f, []).append(here / f)
        return index


def candidates(
    source: Source, mirrors: list[str], offline: bool, index: MirrorIndex | None = None
) -> list[Candidate]:
    """Mirrors first (looked up by file name, in folders also below the top), then the recipe's URLs
    unless offline."""
    out = []
    index = index or MirrorIndex()
    for mirror in mirrors:
        if mirror.startswith("file://"):
            mirror = urlsplit(mirror).path
        if "://" in mirror:
            out.append(Candidate(f"mirror {mirror}", url=mirror.rstrip("/") + "/" + source.file))
        else:
            folder = Path(mirror).expanduser()
            out += [Candidate(f"mirror {p}", path=p) for p in index.find(folder, source.file)[:8]]
    if not offline:
        out += [Candidate(url, url=url) for url in source.urls]
    return out
