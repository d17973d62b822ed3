"""A file served with a Content-Encoding it was not asked for: decoded only when the decoded bytes verify."""

from __future__ import annotations

import os
from pathlib import Path


def gunzip_if_it_verifies(part: Path, expected: str, size: int | None) -> bool:
    """``part`` holds gzip data whose decoded bytes (at most ``size``, or 4 GiB) have the ``expected``
    checksum: a server that forced ``Content-Encoding: gzip`` on a file (curl --compressed and requests
    decode it). Then ``part`` is replaced by the decoded bytes and True returned; else nothing changes."""
    import gzip
    import zlib

    from zookit.hashes import make_hasher, parse_checksum

    with open(part, "rb") as f:
        if f.read(2) != b"\x1f\x8b":
            return False
    algo, _ = parse_checksum(expected)
    limit = size if size is not None else 4 << 30
    hasher = make_hasher(algo, size)
    decoded = part.with_name(part.name + ".gunzip")
    written = 0
    try:
        with gzip.open(part, "rb") as fin, open(decoded, "wb") as fout:
            while chunk := fin.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    return False
                fout.write(chunk)
                hasher.update(chunk)
        if f"{algo}:{hasher.hexdigest()}" != expected or (size is not None and written != size):
            return False
        os.replace(decoded, part)
        return True
    except (OSError, EOFError, zlib.error):
        return False
    finally:
        decoded.unlink(missing_ok=True)
