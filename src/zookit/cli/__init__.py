"""The ``zoo`` command's groups, one module each: parsing and output of a command sit together.
``zookit.__main__`` builds the parser and maps errors to exit codes."""

import argparse


def path_arg(text: str) -> str:
    """A path argument: any text the operating system can take as a path (no NUL character)."""
    if "\0" in text:
        raise argparse.ArgumentTypeError("a path cannot hold a NUL character")
    return text
