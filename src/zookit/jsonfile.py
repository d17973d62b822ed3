"""Reading JSON that zookit did not necessarily write (records in the zoo, ``--baseline``, ``--run``):
only a regular file (a pipe, a device or a link to /dev/zero would block or never end), of a bounded
size, nested to a bounded depth, with numbers a float can hold. Anything else is refused with one line
saying what is wrong, never a hang, a RecursionError or an OverflowError later on.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from zookit.errors import UsageError

MAX_BYTES = 256 << 20  # a report of thousands of models is a few MB
MAX_DEPTH = 200  # zookit's own documents nest fewer than 10 levels
MAX_DIGITS = 300  # a float holds about 1.8e308: a longer integer is no figure zookit wrote


class BadJson(ValueError):
    """The file is not JSON zookit can take; the message says why (without the path)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise BadJson(f"a number of {len(text)} digits (more than a float can hold)")
    return int(text)


def _too_deep(value: Any) -> bool:
    """``value`` nests more than MAX_DEPTH containers (walked without recursion: containers only)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack += [(c, depth + 1) for c in children if isinstance(c, (dict, list))]
    return False


def loads(text: str) -> Any:
    """``json.loads`` within the bounds above; BadJson (a ValueError) otherwise."""
    try:
        value = json.loads(text, parse_int=_int)
    except BadJson:
        raise
    except RecursionError:  # the parser's own bound (about 1,000 levels)
        raise BadJson(f"nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        raise BadJson(f"not JSON ({exc})") from None
    if isinstance(value, (dict, list)) and _too_deep(value):
        raise BadJson(f"nested more than {MAX_DEPTH} levels deep")
    return value


def read_text(path: Path) -> str:
    """The text of a regular file of at most MAX_BYTES; OSError, or BadJson for a pipe, device, folder,
    a file too large or not UTF-8."""
    st = os.stat(path)  # follows links: a link to /dev/zero is a device
    if not stat.S_ISREG(st.st_mode):
        raise BadJson("not a regular file (a pipe, device or folder is not a JSON document)")
    if st.st_size > MAX_BYTES:
        raise BadJson(f"{st.st_size} bytes, more than the {MAX_BYTES >> 20} MiB a zookit document can be")
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise BadJson(f"more than the {MAX_BYTES >> 20} MiB a zookit document can be")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJson(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load(path: Path) -> Any:
    """The parsed file; OSError or BadJson."""
    return loads(read_text(path))


def load_document(path: Path, option: str) -> Any:
    """A document a user names on the command line: UsageError naming the option and file otherwise."""

    try:
        return load(path)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it: {exc.strerror or exc}") from None
    except BadJson as exc:
        raise UsageError(f"{option} {path}: {exc}") from None
