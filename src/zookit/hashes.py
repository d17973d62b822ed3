"""Checksums as strings with an algorithm prefix (``sha256:ab12...``): pure functions only."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

# Algorithm -> number of hex digits. sha256 is preferred; sha384 and md5 are accepted because some
# upstreams publish nothing else. ``git-blob`` is git's object id of a file (sha1 over a
# "blob <size>\\0" header and the bytes): for some upstream files it is the only fact published.
HEX_DIGITS = {"sha256": 64, "sha384": 96, "sha512": 128, "sha1": 40, "md5": 32, "git-blob": 40}
PREFERRED = "sha256"
_HEX = re.compile(r"^[0-9a-f]+$")
CHUNK = 1 << 20


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


def parse_checksum(text: str) -> tuple[str, str]:
    """Split ``algo:hex`` into its parts, raising ValueError with a message fit for a recipe error."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"expected 'algorithm:hex' (for example 'sha256:<64 hex characters>'), got {text!r}")
    algo, _, digest = text.partition(":")
    algo = algo.strip().lower()
    digest = digest.strip().lower()
    if algo not in HEX_DIGITS:
        raise ValueError(f"unknown checksum algorithm {algo!r}; use one of {', '.join(HEX_DIGITS)}")
    want = HEX_DIGITS[algo]
    if len(digest) != want or not _HEX.match(digest):
        raise ValueError(f"expected {want} hex characters after '{algo}:', got {len(digest)}")
    return algo, digest


def normalize_checksum(text: str) -> str:
    algo, digest = parse_checksum(text)
    return f"{algo}:{digest}"


def make_hasher(algo: str, size: int | None = None) -> Hasher:
    """A streaming hasher for ``algo``; ``git-blob`` needs the total size up front."""
    if algo == "git-blob":
        if size is None:
            raise ValueError("a git-blob checksum needs the file size")
        h = hashlib.sha1(usedforsecurity=False)
        h.update(b"blob %d\0" % size)
        return h
    if algo in ("md5", "sha1"):
        return hashlib.new(algo, usedforsecurity=False)
    return hashlib.new(algo)


def file_checksum(path: Path, algo: str = PREFERRED) -> str:
    """``algo:hex`` of a file, read in chunks."""
    size = path.stat().st_size
    h = make_hasher(algo, size)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return f"{algo}:{h.hexdigest()}"


def matches(path: Path, checksum: str) -> bool:
    algo, _ = parse_checksum(checksum)
    return file_checksum(path, algo) == normalize_checksum(checksum)
