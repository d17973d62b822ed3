"""``ZOO_MAX_UNPACKED``: how much an archive may unpack to, read from the environment."""

from __future__ import annotations

import os
import re

from zookit.errors import UsageError
from zookit.fetch.archives import DEFAULT_MAX_UNPACKED


def max_unpacked_from_env() -> int:
    """``ZOO_MAX_UNPACKED``: bytes, with an optional unit (``8G``, ``500MiB``, ``2e9``)."""
    text = os.environ.get("ZOO_MAX_UNPACKED", "").strip()
    if not text:
        return DEFAULT_MAX_UNPACKED
    try:
        return parse_size(text)
    except ValueError:
        raise UsageError(
            f"ZOO_MAX_UNPACKED={text!r}: expected a size in bytes, optionally with a unit "
            "(K, M, G, T or KiB, MiB, GiB, TiB; for example 8G)"
        ) from None


def parse_size(text: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not match:
        raise ValueError(text)
    value = int(float(match.group(1)) * units[match.group(2)])
    if value <= 0:
        raise ValueError(text)
    return value
