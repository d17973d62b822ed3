"""The one exception hierarchy of zookit.

The library raises these and never exits; only the command line (``__main__``) turns them into
messages and exit codes. Every message says what was wrong, where, and what to do about it.
"""

from __future__ import annotations

import errno

from zookit.deployer_facts import DEPLOYER_FACTS


class ZooError(Exception):
    """Base of every error zookit raises on purpose."""

    exit_code = 1


class RecipeError(ZooError):
    """A recipe file is missing, unreadable or invalid. Carries every problem found."""

    exit_code = 2

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = [f"{path}: {p}" for p in problems]
        super().__init__("\n".join(lines))


class UsageError(ZooError):
    """The command was asked for something that cannot be done as asked (unknown model, bad option)."""

    exit_code = 2


class FetchError(ZooError):
    """A file could not be obtained from any of its sources."""


class ChecksumError(FetchError):
    """Bytes were obtained but they are not the bytes the recipe or lock file pins."""


class ArchiveError(ZooError):
    """An archive is malformed or hostile (path traversal, links escaping, device files, too large)."""


class ConversionError(ZooError):
    """Trimming or converting a model failed."""


class VerificationError(ZooError):
    """A converted model does not compute what its source computes."""


# modules of the `convert` extra: a command that needs one says which extra to install
CONVERT_MODULES = {"tensorflow", "tf2onnx", "onnx", "onnxruntime", "ai_edge_litert", "keras", "google"}
# modules of the `report` extra: `zoo report` (and `zoo run --report PAGE.html`) draw the page with them
REPORT_MODULES = {"pygal", "jinja2", "markupsafe"}


def _install(extra: str) -> str:
    return f"install the '{extra}' extra (pip install 'zookit[{extra}]', or pip install -e '.[{extra}]' in a checkout)"


def missing_dependency(exc: ModuleNotFoundError) -> str:
    """A missing module as one line: which extra to install (or to reinstall zookit)."""
    name = (exc.name or "").split(".")[0]
    if name in CONVERT_MODULES:
        return f"this command needs {name}, which is not installed: {_install('convert')}"
    if name in REPORT_MODULES:
        return f"the report's page is drawn with {name}, which is not installed: {_install('report')}"
    if name == "tflite_micro":
        return (
            "TFLite targets with c_array: true run under TensorFlow Lite Micro, which is not installed: "
            + _install("mcu")
        )
    if name in ("ethosu", "ethos_u_vela"):
        return f"the ethos_u deployer needs Arm's Vela (ethos-u-vela), which is not installed: {_install('ethos-u')}"
    for deployer, d in DEPLOYER_FACTS.items():
        if name in d.packages and d.extra:
            return f"the {deployer} deployer needs {name}, which is not installed: {_install(d.extra)}"
    if name == "sklearn":
        return f"accuracy on labelled data needs scikit-learn, which is not installed: {_install('evaluate')}"
    if name in ("dask", "distributed"):
        return f"--scheduler needs dask.distributed, which is not installed: {_install('dask')}"
    return (
        f"a module zookit needs is missing: {exc}; reinstall zookit "
        "(pip install --force-reinstall zookit, or pip install -e . in a checkout)"
    )


def describe_os_error(exc: OSError) -> str:
    """An operating-system error as one line: what failed, on which path, and what to do."""
    what = exc.strerror or str(exc)
    where = f": {exc.filename}" if exc.filename else ""
    hint = ""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = " (choose a folder you can write: --zoo-dir / --cache-dir, ZOO_DIR / ZOO_CACHE_DIR)"
    elif exc.errno == errno.ENOSPC:
        hint = " (free some space, or point --zoo-dir / --cache-dir elsewhere)"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        hint = " (a file stands where zookit needs a folder)"
    return f"{what}{where}{hint}"
