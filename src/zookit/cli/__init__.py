"""The ``zoo`` command's groups, one module each: parsing and output of a command sit together.
``zookit.__main__`` builds the parser and maps errors to exit codes."""

import argparse
from pathlib import Path


def path_arg(text: str) -> str:
    """A path argument: any text the operating system can take as a path (no NUL character)."""
    if "\0" in text:
        raise argparse.ArgumentTypeError("a path cannot hold a NUL character")
    return text


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {least} or more, got {value}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1)


def whole_number(text: str) -> int:
    """0 or more (a count that may be zero, such as warm-up runs)."""
    return _whole_number(text, 0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def existing_dir(text: str) -> str:
    if not Path(path_arg(text)).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not an existing folder")
    return text


def folder_arg(text: str) -> str:
    """A folder zookit writes into: it may not exist yet, but it must not be a file."""
    path = Path(path_arg(text))
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    return text
