"""`zoo inspect` of a TensorFlow model: a frozen graph, a Keras model or a SavedModel. Keras and
SavedModel are frozen with the converter's own loaders (``zookit.convert.sources``) and then described
as a frozen graph; their inputs and outputs are those the file declares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.errors import ConversionError, ZooError
from zookit.modelinfo.facts import ModelInfo, TensorInfo, display_tensor, operator_counts
from zookit.trimpoints import GraphNode, TrimPoint, trim_points

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
        operator_counts(op.type for op in ops),
        [TrimPoint(display_tensor(p.tensor), p.shape, p.reason) for p in points],
    )


def inspect_frozen_graph(path: Path) -> ModelInfo:
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


def inspect_keras(path: Path) -> ModelInfo:
    from zookit.convert.sources import GRAPH_LOADERS, load_keras_model
    from zookit.ports import node_name

    model = load_keras_model(path, str(path))
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


def inspect_saved_model(folder: Path) -> ModelInfo:
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
