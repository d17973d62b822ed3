"""Values read from records that zookit may not have written: numbers, dicts and lists taken only when they
are what they claim, a record read as (data, what is wrong)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from zookit.fsutil import read_json


class Unreadable(Exception):
    """A record holds something this version of zookit did not write."""


def number(value: Any) -> float | None:
    """A finite number from a record, or None (a string, NaN or a missing value is no figure)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) if isinstance(value, float) else value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """A list from a record (anything else, a string included, is no list of items)."""
    return value if isinstance(value, list) else []


def _worst(outputs: Any, key: str) -> float | None:
    values = [number(_dict(o).get(key)) for o in _dict(outputs).values()]
    return max((v for v in values if v is not None), default=None)


def _record(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the record, None), (None, None) when absent, or (None, what is wrong with it)."""
    if not path.exists():
        return None, None
    data = read_json(path)
    if data is None:
        return None, f"{path.name} is not readable JSON (corrupted?)"
    if not isinstance(data, dict):
        return None, f"{path.name} is not a zookit record (a JSON {type(data).__name__})"
    return data, None
