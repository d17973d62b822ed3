"""The fetch stage: every source file of a recipe, verified, cached and unpacked into the zoo.

Order of lookup for one file: already in the zoo and unchanged -> the shared cache (re-verified) ->
mirrors (folders or URLs, by file name) -> the recipe's URLs in order. Bytes are verified against the
recipe's checksum, or for unpinned files against the zoo's lock file (the first fetch records it).

This file is the package's face: it re-exports what the stages above use and holds no code. What
belongs in the package, one job a module (as pooch splits it):

- ``fetcher``: the flow for one file and for many (``Fetcher``); knows no protocol or archive format.
- ``options``: ``FetchOptions`` and ``FileResult``, the zoo and mirror defaults from the environment.
- ``mirrors``: where a file may come from, in order (mirror URLs and folders, the recipe's URLs).
- ``installed``: what the zoo holds of a file (its fetch record), the per-file lock, staging leftovers.
- ``downloaders`` (HTTP and local copies), ``cache`` (content-addressed, shared), ``archives`` (safe
  unpacking), ``encoding`` (an unasked Content-Encoding), ``lockfile`` (checksums of unpinned files),
  ``limits`` (``ZOO_MAX_UNPACKED``).

The package reads the recipe and the bottom modules (records, errors, fsutil, hashes, layout, libs,
progress, jsonfile, intact), never a stage above it.
"""

from __future__ import annotations

from zookit.fetch.fetcher import Fetcher
from zookit.fetch.installed import (
    expected_checksum,
    remove_staging,
    safe_lock,
    source_stale_because,
    staging_prefix,
)
from zookit.fetch.limits import max_unpacked_from_env, parse_size
from zookit.fetch.mirrors import MIRROR_DEPTH, Candidate, MirrorIndex, candidates
from zookit.fetch.options import FetchOptions, FileResult, default_mirrors, default_zoo_dir

__all__ = [
    "MIRROR_DEPTH",
    "Candidate",
    "FetchOptions",
    "Fetcher",
    "FileResult",
    "MirrorIndex",
    "candidates",
    "default_mirrors",
    "default_zoo_dir",
    "expected_checksum",
    "max_unpacked_from_env",
    "parse_size",
    "remove_staging",
    "safe_lock",
    "source_stale_because",
    "staging_prefix",
]
