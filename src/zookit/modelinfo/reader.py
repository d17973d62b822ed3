"""`zoo inspect`'s entry point: the format of a path (as a recipe's ``model.format`` names it, from the
folder's contents, the file's first bytes, its suffix) and the reader of that format."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from zookit.errors import UsageError, ZooError
from zookit.modelinfo.facts import ModelInfo
from zookit.modelinfo.onnx import inspect_onnx
from zookit.modelinfo.tf_graphs import inspect_frozen_graph, inspect_keras, inspect_saved_model
from zookit.modelinfo.tflite import inspect_tflite

FORMATS = ("tf-frozen-graph", "tf-saved-model", "keras", "onnx", "tflite")
KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def inspect_model(path: Path) -> ModelInfo:
    """Read ``path`` (a file, or a SavedModel folder) and describe it. Raises UsageError for a path that
    is not a model file zookit reads (missing, a FIFO, a folder without saved_model.pb) and ZooError
    for a file that cannot be read as its format."""
    model_format, model_path = detect_format(path)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    readers = {
        "tflite": inspect_tflite,
        "onnx": inspect_onnx,
        "tf-frozen-graph": inspect_frozen_graph,
        "keras": inspect_keras,
        "tf-saved-model": inspect_saved_model,
    }
    info = readers[model_format](model_path)
    info.path = str(path)
    return info


def detect_format(path: Path) -> tuple[str, Path]:
    """(model.format, the path to read): from the folder's contents, the file's first bytes, its suffix."""
    text = str(path)
    if "\0" in text:
        raise UsageError("a path cannot hold a NUL character")
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UsageError(f"{text}: no such file or folder") from None
    if stat.S_ISDIR(st.st_mode):
        if (path / "saved_model.pb").is_file():
            return "tf-saved-model", path
        raise UsageError(
            f"{text}: a folder without saved_model.pb; give a model file (.pb, .h5, .keras, .tflite, .onnx) "
            "or a SavedModel folder"
        )
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{text}: not a regular file (a pipe, socket or device is not a model file)")
    if st.st_size == 0:
        raise ZooError(f"{text}: the file is empty, not a model")
    with open(path, "rb") as f:
        head = f.read(8)
    if path.name == "saved_model.pb":
        return "tf-saved-model", path.parent
    if head[4:8] == b"TFL3" or path.suffix.lower() == ".tflite":
        return "tflite", path
    if head == HDF5_MAGIC or path.suffix.lower() in KERAS_SUFFIXES:
        return "keras", path
    if path.suffix.lower() == ".onnx":
        return "onnx", path
    if path.suffix.lower() in (".pb", ".graphdef"):
        return "tf-frozen-graph", path
    raise UsageError(
        f"{text}: cannot tell the model format from the name or the first bytes; zookit reads a TF frozen "
        "graph (.pb), a SavedModel folder, Keras (.h5, .keras), TFLite (.tflite) and ONNX (.onnx)"
    )
