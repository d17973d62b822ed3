"""How a fetch runs (``FetchOptions``: the zoo folder, the cache, mirrors, offline, hashes required, jobs,
HTTP settings, the unpack limit) and what it says of each file (``FileResult``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zookit.fetch.cache import Cache
from zookit.fetch.downloaders import HttpOptions
from zookit.fetch.limits import max_unpacked_from_env


def default_zoo_dir() -> Path:
    return Path(os.environ.get("ZOO_DIR") or "zoo")


def default_mirrors() -> list[str]:
    return os.environ.get("ZOO_MIRROR", "").split()


@dataclass
class FetchOptions:
    zoo_dir: Path = field(default_factory=default_zoo_dir)
    cache: Cache = field(default_factory=Cache)
    mirrors: list[str] = field(default_factory=default_mirrors)
    offline: bool = False
    require_hashes: bool = False
    verify: bool = False  # re-hash files the zoo already holds instead of trusting their fetch records
    jobs: int = 4
    http: HttpOptions = field(default_factory=HttpOptions)
    max_unpacked: int = field(default_factory=lambda: max_unpacked_from_env())


@dataclass
class FileResult:
    model: str
    file: str
    # "downloaded", "copied" (from a mirror folder), "cached", "present", "verified" (re-hashed) or "failed"
    status: str
    origin: str = ""
    checksum: str = ""
    size: int = 0
    seconds: float = 0.0
    unpinned: bool = False
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
