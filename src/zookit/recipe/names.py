"""Names and validators every part of the recipe shares: what a name, a file name, a relative path, a
URL and a checksum may be, the annotated field types made of them, and ``FrozenModel``, the base of every
recipe section. ``zoo new`` (scaffold) checks the names it writes with the same functions.
"""

from __future__ import annotations

import posixpath
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from zookit.hashes import normalize_checksum
from zookit.layout import ZOO_LOCK

_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]*")  # matched whole (fullmatch: no trailing newline slips by)
# Names become folders and parts of file names (``tidl_import_<name>.txt``, ``<name>_model_data.cc``).
MAX_NAME = 100


def check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid name: use lower-case letters, digits, '_', '-', '.'")
    if len(value) > MAX_NAME:
        raise ValueError(f"{value[:40]!r}... is {len(value)} characters long; at most {MAX_NAME}")
    return value


def check_model_name(value: str) -> str:
    """A model's name is its folder in the zoo, beside the zoo's own files."""
    if value == ZOO_LOCK:
        raise ValueError(f"{value!r} is the zoo's checksum lock file; choose another name")
    return value


_CONTROL = re.compile("[\x00-\x1f\x7f]")  # NUL, newline and the other control characters, DEL

# zookit keeps files beside each source (``.fetched-<file>.json``, ``.<file>.lock``): what is left of a
# file system's 255-byte name limit.
MAX_FILE_NAME = 200


def check_file_name(value: str) -> str:
    if not value or "/" in value or "\\" in value or value in (".", "..") or value.startswith("."):
        raise ValueError(f"{value!r} must be a plain file name (no folders, not hidden)")
    if _CONTROL.search(value):
        raise ValueError(
            f"{value!r} holds a control character (NUL, newline, ...): not usable as a file name"
        )
    if len(value.encode("utf-8", "surrogatepass")) > MAX_FILE_NAME:
        raise ValueError(
            f"{value[:40]!r}... is {len(value.encode('utf-8', 'surrogatepass'))} bytes long; at most {MAX_FILE_NAME}"
        )
    return value


def check_relative_path(value: str) -> str:
    norm = posixpath.normpath(value.replace("\\", "/"))
    if (
        value.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", value)
        or norm == ".."
        or norm.startswith("../")
    ):
        raise ValueError(f"{value!r} must be a relative path that stays inside the model's folder")
    return norm.removeprefix("./")


def check_save_as(value: str) -> str:
    """Where a source is saved in the model's source folder: a file, not the folder, and not one of the
    hidden names zookit keeps beside each source (``.fetched-<file>.json``, ``.<file>.lock``)."""
    if value in (".", ""):
        raise ValueError("save_as names the source folder itself, not a file in it")
    for part in value.split("/"):
        if part.startswith("."):
            raise ValueError(f"{value!r}: hidden names (starting with '.') are kept for zookit's own files")
        check_file_name(part)
    return value


def check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


Name = Annotated[str, AfterValidator(check_name)]
ModelName = Annotated[str, AfterValidator(check_name), AfterValidator(check_model_name)]
FileName = Annotated[str, AfterValidator(check_file_name)]
RelPath = Annotated[str, AfterValidator(check_relative_path)]
SaveAs = Annotated[str, AfterValidator(check_relative_path), AfterValidator(check_save_as)]
Url = Annotated[str, AfterValidator(check_url)]
Checksum = Annotated[str, AfterValidator(normalize_checksum)]
DType = Literal["float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"]
Layout = Literal["NHWC", "NCHW", "NC", "N", "NLC"]
PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class FrozenModel(BaseModel):
    """The base of every recipe section: immutable, unknown keys refused, defaults validated too."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=True)
