"""Whether the files a stage wrote are still the files its record describes, by their checksums.

A record (a manifest's output, a package's ``files``) holds each file's checksum; a file whose bytes were
changed (truncated, a byte flipped, its modification time set back) no longer matches and its stage runs
again. Hashing every file on every warm run would cost a read of every model in the zoo, so a file already
found to match is remembered (in the cache folder's ``verified/``, one note per folder of the zoo: nothing
is added to the zoo's packages) under what the system says of it: device, inode, size, modification and
change times. The change time (ctime) is set by the kernel on any write,
rename into place or ``touch``, and cannot be set back by a user, so a file written since it was checked
is hashed again. Losing the note (or a note that cannot be written) only costs a hash.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from zookit.fsutil import write_text
from zookit.hashes import file_checksum, normalize_checksum, parse_checksum
from zookit.jsonfile import load as load_json
from zookit.layout import default_cache_dir


def _note(folder: Path) -> Path:
    import hashlib

    where = hashlib.sha256(os.fsencode(folder.resolve())).hexdigest()[:32]
    return default_cache_dir() / "verified" / f"{where}.json"


_SEEN: dict[str, str] = {}  # path -> the stamp it matched under, in this process (a stage checks often)


def _identity(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _notes(folder: Path) -> dict[str, str]:
    try:
        data = load_json(_note(folder))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def mismatched(folder: Path, files: dict[str, str]) -> str | None:
    """The first of ``files`` (name in ``folder`` -> checksum) that is missing or whose bytes do not match
    its checksum, with what is wrong (``"x.bin is missing"``, ``"x.bin changed (checksum mismatch)"``), or
    None when every file matches."""
    notes: dict[str, str] | None = None  # read only when a file is not known in this process
    learned: dict[str, str] = {}
    for name, checksum in files.items():
        path = folder / name
        try:
            st = path.stat()
        except OSError:
            return f"{name} is missing"
        if not isinstance(checksum, str):
            return f"{name} has no checksum in its record"
        stamp = f"{_identity(st)}:{checksum}"
        if _SEEN.get(str(path)) == stamp:
            continue
        if notes is None:
            notes = _notes(folder)
        if notes.get(name) == stamp:
            _SEEN[str(path)] = stamp
            continue
        try:
            algo, _ = parse_checksum(checksum)
            same = file_checksum(path, algo) == normalize_checksum(checksum)
        except (OSError, ValueError):
            same = False
        if not same:
            return f"{name} changed (its bytes do not match the checksum its record holds)"
        learned[name] = _SEEN[str(path)] = stamp
    if learned:
        with contextlib.suppress(OSError):  # a note that cannot be written only costs a hash next time
            write_text(_note(folder), json.dumps({**(notes or {}), **learned}, sort_keys=True))
    return None
