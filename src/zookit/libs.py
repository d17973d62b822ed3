"""The large libraries (TensorFlow, tf2onnx, onnxruntime, LiteRT), imported when a command needs them."""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import os
import sys
from types import ModuleType

from zookit.version import __version__

THREADS_ENV = "ZOO_THREADS"


def threads() -> int:
    """Threads one model's work may use: ``ZOO_THREADS`` (set for each ``zoo run -j N`` worker to its
    share of the cores, so that parallel workers do not oversubscribe them), else every core."""
    value = os.environ.get(THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else os.cpu_count() or 1


def load(name: str) -> ModuleType:
    """Import ``name`` with the cyclic garbage collector paused, then freeze what is allocated so far.

    TensorFlow's import creates millions of objects, none of them garbage, and every full collection
    during and after it walks them all: 0.4 s of a 3 s `zoo convert` of MobileNet. Pausing the collector
    for the import and freezing its objects (gc.freeze) leaves later collections only the new objects.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    enabled = gc.isenabled()
    gc.disable()
    try:
        module = importlib.import_module(name)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    if name == "tensorflow" and THREADS_ENV in os.environ:
        # TensorFlow's own pools (the converter's, tf2onnx's Grappler runs) take every core otherwise.
        module.config.threading.set_intra_op_parallelism_threads(threads())
        module.config.threading.set_inter_op_parallelism_threads(threads())
    return module


TOOLS = (
    "tensorflow",
    "tensorflow-cpu",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "ai-edge-litert",
    "tflite-micro",
    "numpy",
)


@functools.lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """zookit's and the conversion tools' versions (from the installed packages' metadata, none imported):
    part of every conversion's stage key, so upgrading a tool converts again."""
    from importlib import metadata

    out = {"zookit": __version__}
    for name in TOOLS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The installed versions of ``names`` (a deployer's own libraries; absent ones are left out)."""
    from importlib import metadata

    out = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out
