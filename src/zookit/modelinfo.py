"""`zoo inspect`: what a model file takes and gives, before any recipe exists.

For a TF frozen graph, a SavedModel, a Keras model, a TFLite or an ONNX file: its format (as a recipe's
``model.format`` names it), inputs and outputs with shapes and dtypes (-1: a dimension the file leaves
open), operator counts and, for the formats a recipe can trim (TF graphs, ONNX, TFLite), the likely trim points.

The likely trim points (``zookit.trimpoints``) are suggestions: ``zoo show`` of the shipped recipes shows
where they cut.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zookit.errors import ConversionError, UsageError, ZooError
from zookit.trimpoints import GraphNode, TrimPoint, cycle_tensor, trim_points

FORMATS = ("tf-frozen-graph", "tf-saved-model", "keras", "onnx", "tflite")
KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

NOT_OUTPUTS = frozenset(
    {
        "Const",
        "NoOp",
        "Assert",
        "Placeholder",
        "PlaceholderWithDefault",
        "SaveV2",
        "RestoreV2",
        "Merge",
        "Switch",
        "Enter",
        "Exit",
        "NextIteration",
        "LoopCond",
        "TensorArrayV3",
        "TensorArrayCloseV3",
    }
)


@dataclass(frozen=True)
class TensorInfo:
    """An input or output: its name as a recipe writes it, shape (-1: open; None: unknown), dtype."""

    name: str
    shape: list[int] | None
    dtype: str
    quantization: dict[str, Any] | None = None  # TFLite: scale and zero point of a quantized tensor


@dataclass
class ModelInfo:
    """What `zoo inspect` prints; ``as_dict`` is its ``--json`` document."""

    path: str
    format: str  # a recipe's model.format
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    operators: dict[str, int]  # operator type -> count, most frequent first
    trim_points: list[TrimPoint] = field(default_factory=list)
    signature: str | None = None  # tf-saved-model: the signature read
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. a TFLite post-process op's options
    notes: list[str] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        return sum(self.operators.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["nodes"] = self.nodes
        return data


# --- the entry point ------------------------------------------------------------------------------


def inspect_model(path: Path) -> ModelInfo:
    """Read ``path`` (a file, or a SavedModel folder) and describe it. Raises UsageError for a path that
    is not a model file zookit reads (missing, a FIFO, a folder without saved_model.pb) and ZooError
    for a file that cannot be read as its format."""
    model_format, model_path = detect_format(path)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    readers = {
        "tflite": _inspect_tflite,
        "onnx": _inspect_onnx,
        "tf-frozen-graph": _inspect_frozen_graph,
        "keras": _inspect_keras,
        "tf-saved-model": _inspect_saved_model,
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


def display_tensor(tensor: str) -> str:
    """A TF tensor as recipes write it: 'node' for output 0, 'node:1' for the others."""
    return tensor[:-2] if tensor.endswith(":0") else tensor


def _counts(ops: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(ops).items(), key=lambda kv: (-kv[1], kv[0])))


# --- TFLite and ONNX -------------------------------------------------------------------------------


def _inspect_tflite(path: Path) -> ModelInfo:
    from zookit.modelinfo_tflite import inspect_tflite

    return inspect_tflite(path)


def _inspect_onnx(path: Path) -> ModelInfo:
    import onnx

    from zookit.graphs import load_onnx

    model = load_onnx(path)
    with contextlib.suppress(Exception):  # shapes only help: a model inference cannot follow is described
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    g = model.graph
    initializers = {i.name for i in g.initializer}
    values = {v.name: v for v in [*g.value_info, *g.input, *g.output]}

    def info(name: str) -> TensorInfo:
        v = values.get(name)
        if v is None or not v.type.HasField("tensor_type"):
            return TensorInfo(name, None, "?")
        tt = v.type.tensor_type
        shape = (
            [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
            if tt.HasField("shape")
            else None
        )
        try:
            dtype = str(onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type))
        except (KeyError, ValueError):
            dtype = "?"
        return TensorInfo(name, shape, dtype)

    nodes = [
        GraphNode(
            n.name or n.output[0],
            n.op_type,
            [i for i in n.input if i and i not in initializers],
            list(n.output),
        )
        for n in g.node
    ]
    outputs = [o.name for o in g.output]
    points = trim_points(nodes, outputs, lambda t: info(t).shape)
    cycle = cycle_tensor(nodes)
    notes = (
        []
        if cycle is None
        else [
            f"the graph is cyclic (tensor {cycle!r} depends on itself): ONNX graphs must be acyclic, "
            "so converters and runtimes will refuse this file"
        ]
    )
    return ModelInfo(
        str(path),
        "onnx",
        [info(i.name) for i in g.input if i.name not in initializers],
        [info(o) for o in outputs],
        _counts(n.op_type for n in g.node),
        points,
        notes=notes,
    )


# --- TensorFlow graphs -----------------------------------------------------------------------------


def _tf_dtype(dtype: Any) -> str:
    name = str(getattr(dtype, "name", dtype))
    return name.removesuffix("_ref")


def _tf_shape(shape: Any) -> list[int] | None:
    try:
        dims = shape.as_list()
    except ValueError:  # unknown rank
        return None
    return [-1 if d is None else int(d) for d in dims]


def graph_info(graph_def: Any, path: Path, model_format: str, outputs: list[str] | None = None) -> ModelInfo:
    """A frozen GraphDef described: Placeholders are the inputs; ``outputs`` (tensor names), or else the
    tensors of nodes nothing reads, the outputs. Shapes and dtypes come from importing the graph."""
    from zookit.libs import load

    tf = load("tensorflow")
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
    except Exception as exc:  # TensorFlow raises ValueError, InvalidArgumentError, NotFoundError...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise ConversionError(f"{path}: not a TF graph TensorFlow can load ({first})") from None
    ops = graph.get_operations()
    if not ops:
        raise ZooError(f"{path}: not a TF frozen graph (no nodes)")
    read = {t.name for op in ops for t in op.inputs} | {c.name for op in ops for c in op.control_inputs}
    if outputs is None:  # the nodes nothing reads (not a constant, a loop's plumbing or a check)
        outputs = [
            t.name
            for op in ops
            if op.type not in NOT_OUTPUTS
            and not any(t.name in read for t in op.outputs)
            and op.name not in read
            for t in op.outputs
        ]
    by_name = {t.name: t for op in ops for t in op.outputs}

    def info(tensor: str) -> TensorInfo:
        t = by_name[tensor]
        return TensorInfo(display_tensor(tensor), _tf_shape(t.shape), _tf_dtype(t.dtype))

    nodes = [
        GraphNode(op.name, op.type, [t.name for t in op.inputs], [t.name for t in op.outputs]) for op in ops
    ]
    points = trim_points(nodes, outputs, lambda t: _tf_shape(by_name[t].shape) if t in by_name else None)
    inputs = [t.name for op in ops if op.type == "Placeholder" for t in op.outputs]
    return ModelInfo(
        str(path),
        model_format,
        [info(t) for t in inputs],
        [info(t) for t in outputs if t in by_name],
        _counts(op.type for op in ops),
        [TrimPoint(display_tensor(p.tensor), p.shape, p.reason) for p in points],
    )


def _inspect_frozen_graph(path: Path) -> ModelInfo:
    from zookit.convert.trim import load_graph_def

    graph_def = load_graph_def(path)
    if not graph_def.node:
        raise ZooError(f"{path}: not a TF frozen graph (no nodes)")
    return graph_info(graph_def, path, "tf-frozen-graph")


def _synthetic_recipe(model_format: str, path: str, inputs: list[TensorInfo], outputs: list[str]) -> Any:
    """A recipe that only serves to freeze a Keras model or a SavedModel with zookit's own loaders."""
    from zookit.recipe import parse_recipe

    return parse_recipe(
        {
            "name": "inspected",
            "description": "inspect",
            "task": "classification",
            "license": "-",
            "sources": [
                {"file": "model", "urls": ["https://example.invalid/model"], "size": None, "checksum": None}
            ],
            "model": {"format": model_format, "path": path},
            "inputs": [
                {
                    "name": t.name,
                    "shape": t.shape or [-1],
                    "dtype": _recipe_dtype(t.dtype),
                    "value_range": [0, 1],
                }
                for t in inputs
            ],
            "outputs": [{"name": n, "shape": [-1]} for n in outputs],
            "targets": [{"name": "tflite-float32", "format": "tflite"}],
        },
        "inspect",
    )


def _recipe_dtype(dtype: str) -> str:
    known = ("float32", "float16", "int8", "uint8", "int16", "int32", "int64", "bool")
    return dtype if dtype in known else "float32"


def _inspect_keras(path: Path) -> ModelInfo:
    from zookit.convert.sources import GRAPH_LOADERS, _first_line, _legacy_layers
    from zookit.libs import load
    from zookit.ports import node_name

    load("tensorflow")
    keras = load("keras")
    try:
        model = keras.models.load_model(path, compile=False, custom_objects=_legacy_layers(keras))
    except Exception as exc:  # Keras raises ValueError, TypeError, OSError and h5py's own errors
        raise ConversionError(f"{path}: cannot load the Keras model: {_first_line(exc)}") from None
    inputs = [
        TensorInfo(node_name(t.name), [-1 if d is None else int(d) for d in t.shape], _tf_dtype(t.dtype))
        for t in model.inputs
    ]
    out_names = list(getattr(model, "output_names", None) or [node_name(t.name) for t in model.outputs])
    fixed = [
        TensorInfo(t.name, [1 if d == -1 and i == 0 else d for i, d in enumerate(t.shape or [])], t.dtype)
        for t in inputs
    ]
    recipe = _synthetic_recipe("keras", path.name, fixed, out_names)
    graph_def = GRAPH_LOADERS["keras"](path, recipe, str(path))
    info = graph_info(graph_def, path, "keras", [f"{n}:0" for n in out_names])
    info.inputs = inputs  # as the file declares them (the frozen graph has the batch fixed to 1)
    info.outputs = [
        TensorInfo(name, [-1 if d is None else int(d) for d in t.shape], _tf_dtype(t.dtype))
        for name, t in zip(out_names, model.outputs, strict=True)
    ]
    return info


def _inspect_saved_model(folder: Path) -> ModelInfo:
    from zookit.convert.sources import GRAPH_LOADERS
    from zookit.libs import load

    tf = load("tensorflow")
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString((folder / "saved_model.pb").read_bytes())
    except DecodeError as exc:
        raise ZooError(f"{folder}/saved_model.pb: not a readable SavedModel ({exc})") from None
    serving = [m for m in saved.meta_graphs if "serve" in m.meta_info_def.tags]
    if not serving:
        raise ZooError(f"{folder}: the SavedModel has no 'serve' meta graph")
    signatures = {k: v for k, v in serving[0].signature_def.items() if not k.startswith("__")}
    if not signatures:
        raise ZooError(f"{folder}: the SavedModel has no signature")
    name = "serving_default" if "serving_default" in signatures else sorted(signatures)[0]
    signature = signatures[name]

    def info(key: str, spec: Any) -> TensorInfo:
        shape = None if spec.tensor_shape.unknown_rank else [int(d.size) for d in spec.tensor_shape.dim]
        return TensorInfo(key, shape, _tf_dtype(tf.dtypes.as_dtype(spec.dtype)))

    inputs = [info(k, v) for k, v in sorted(signature.inputs.items())]
    outputs = [info(k, v) for k, v in sorted(signature.outputs.items())]
    doc_format = "tf-saved-model"
    recipe = _synthetic_recipe(doc_format, folder.name, inputs, [t.name for t in outputs])
    if name != "serving_default":
        recipe = recipe.model_copy(update={"model": recipe.model.model_copy(update={"signature": name})})
    graph_def = GRAPH_LOADERS[doc_format](folder / "saved_model.pb", recipe, str(folder))
    described = graph_info(graph_def, folder, doc_format, [f"{t.name}:0" for t in outputs])
    described.inputs, described.outputs, described.signature = inputs, outputs, name
    others = sorted(set(signatures) - {name})
    if others:
        described.notes.append(f"other signatures: {', '.join(others)} (model.signature picks one)")
    return described
