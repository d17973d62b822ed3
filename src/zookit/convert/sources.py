"""Source formats that become a frozen TensorFlow graph: a Keras model (.h5, .keras) and a SavedModel.

Both are frozen (variables folded into constants, function calls inlined) into one GraphDef whose
inputs and outputs carry the names a user sees: a Keras model's input names and output layer names,
a SavedModel signature's input and output keys. From there they go the way of a frozen graph (trim,
TFLite, ONNX, verification against the source), so every target format works for every TF source.

The table GRAPH_LOADERS maps a recipe's ``model.format`` to its loader.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from zookit.convert.trim import load_graph_def
from zookit.errors import ConversionError
from zookit.libs import load
from zookit.ports import node_name
from zookit.recipe import Recipe


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _legacy_layers(keras: Any) -> dict[str, Any]:
    """Layers whose configuration an older tf.keras wrote with keys Keras 3 refuses: the MLPerf Tiny
    visual wake words model's DepthwiseConv2D carries ``groups: 1``, which Keras 3 does not accept."""

    class DepthwiseConv2D(keras.layers.DepthwiseConv2D):  # type: ignore[misc]
        def __init__(self, *args: Any, groups: int = 1, **kwargs: Any) -> None:
            if groups != 1:
                raise ValueError(f"DepthwiseConv2D with groups={groups} is not a depthwise convolution")
            super().__init__(*args, **kwargs)

    return {"DepthwiseConv2D": DepthwiseConv2D}


def load_keras_model(path: Path, where: str) -> Any:
    """A Keras model file loaded (uncompiled, the legacy layers accepted); ConversionError naming ``where``
    and the first line of Keras's complaint when it cannot be loaded. TensorFlow is loaded first."""
    load("tensorflow")
    keras = load("keras")
    try:
        return keras.models.load_model(path, compile=False, custom_objects=_legacy_layers(keras))
    except Exception as exc:  # Keras raises ValueError, TypeError, OSError and h5py's own errors
        raise ConversionError(f"{where}: cannot load the Keras model: {_first_line(exc)}") from None


def keras_graph(path: Path, recipe: Recipe, where: str) -> Any:
    """A Keras model, frozen for inference (``training=False``) at the recipe's input shapes."""
    tf = load("tensorflow")
    model = load_keras_model(path, where)
    in_names = [node_name(t.name) for t in model.inputs]
    out_names = list(getattr(model, "output_names", None) or [node_name(t.name) for t in model.outputs])
    specs = _input_specs(recipe, in_names, out_names, where, "the Keras model")
    _check_shapes(recipe, {n: t.shape for n, t in zip(in_names, model.inputs, strict=True)}, where)

    def call(*args: Any) -> dict[str, Any]:
        result = model(list(args) if len(args) > 1 else args[0], training=False)
        values = result if isinstance(result, (list, tuple)) else [result]
        return dict(zip(out_names, values, strict=True))

    concrete = tf.function(call).get_concrete_function(*specs)
    return _freeze(concrete, in_names, where)


def saved_model_graph(path: Path, recipe: Recipe, where: str) -> Any:
    """One signature of a SavedModel folder, frozen. The folder is read with TensorFlow's graph-mode
    loader, which needs only the graph and the variables: a Keras SavedModel whose training objects
    (an optimizer of an older Keras) cannot be revived still loads."""
    tf = load("tensorflow")
    from tensorflow.python.framework import convert_to_constants
    from tensorflow.python.util import deprecation

    folder = path if path.is_dir() else path.parent
    graph = tf.Graph()
    try:
        with deprecation.silence(), graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
            meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(folder))
            signatures = {k: v for k, v in meta.signature_def.items() if not k.startswith("__")}
            if recipe.model.signature not in signatures:
                raise ConversionError(
                    f"{where}: model.signature: the SavedModel has no signature {recipe.model.signature!r}; "
                    f"it has {', '.join(sorted(signatures)) or 'none'}"
                )
            signature = signatures[recipe.model.signature]
            inputs = {k: v.name for k, v in signature.inputs.items()}
            outputs = {k: v.name for k, v in signature.outputs.items()}
            _input_specs(recipe, list(inputs), list(outputs), where, "the signature")
            frozen = convert_to_constants.convert_variables_to_constants_from_session_graph(
                session, graph.as_graph_def(), sorted({node_name(n) for n in outputs.values()})
            )
    except ConversionError:
        raise
    except Exception as exc:  # RuntimeError, OSError, the loader's own errors
        raise ConversionError(f"{where}: cannot load the SavedModel: {_first_line(exc)}") from None

    def body() -> None:
        tf.compat.v1.import_graph_def(frozen, name="")

    wrapped = tf.compat.v1.wrap_function(body, [])
    pruned = wrapped.prune(
        feeds=[wrapped.graph.get_tensor_by_name(inputs[k]) for k in inputs],
        fetches={k: wrapped.graph.get_tensor_by_name(v) for k, v in outputs.items()},
    )
    return _freeze(pruned, list(inputs), where)


def _input_specs(
    recipe: Recipe, in_names: list[str], out_names: list[str], where: str, what: str
) -> list[Any]:
    """TensorSpecs at the recipe's shapes, in the model's input order; names checked against the model."""
    tf = load("tensorflow")

    declared = {node_name(s.name): s for s in recipe.inputs}
    missing_in = [n for n in declared if n not in in_names]
    missing_out = [node_name(s.name) for s in recipe.outputs if node_name(s.name) not in out_names]
    if missing_in or missing_out or set(in_names) - set(declared):
        raise ConversionError(
            f"{where}: inputs/outputs: {what} has inputs {in_names} and outputs {out_names}; "
            f"the recipe declares inputs {list(declared)} and outputs {[s.name for s in recipe.outputs]}"
        )
    return [
        tf.TensorSpec([d if d > 0 else None for d in declared[n].shape], declared[n].dtype, name=n)
        for n in in_names
    ]


def _check_shapes(recipe: Recipe, model_shapes: dict[str, Any], where: str) -> None:
    """The recipe's input shapes against the model's (an open dimension takes any size): a recipe error
    naming the field, not the framework's ValueError from deep inside the conversion."""
    for i, spec in enumerate(recipe.inputs):
        shape = model_shapes.get(node_name(spec.name))
        if shape is None:
            continue
        dims = [None if d is None else int(d) for d in shape]
        fits = len(dims) == len(spec.shape) and all(
            m is None or r <= 0 or m == r for m, r in zip(dims, spec.shape, strict=False)
        )
        if not fits:
            shown = [d if d is not None else "?" for d in dims]
            raise ConversionError(
                f"{where}: inputs[{i}].shape: the recipe says {list(spec.shape)}, the model takes {shown} "
                f"(? = any size); set inputs[{i}].shape to the model's"
            )


def _freeze(function: Any, in_names: list[str], where: str) -> Any:
    """Fold the variables of a concrete function into constants and inline its calls; name its inputs
    ``in_names`` and add one Identity per output key, named after the key."""
    from tensorflow.python.framework import convert_to_constants
    from tensorflow.python.util import deprecation

    try:
        with deprecation.silence():
            frozen = convert_to_constants.convert_variables_to_constants_v2(function)
    except Exception as exc:  # TensorFlow's converter raises many kinds
        raise ConversionError(f"{where}: cannot freeze the model: {_first_line(exc)}") from None
    graph_def = frozen.graph.as_graph_def()
    placeholders = [node_name(t.name) for t in frozen.inputs]
    renames = dict(zip(placeholders, in_names, strict=True))
    keys = sorted(function.structured_outputs)  # the order tf.nest flattens a dict in
    outputs = {key: tensor.name for key, tensor in zip(keys, frozen.outputs, strict=True)}
    taken = {n.name for n in graph_def.node} - set(renames)
    clash = [n for n in list(in_names) + list(outputs) if n in taken]
    if clash:
        raise ConversionError(f"{where}: the frozen graph already has nodes named {clash}")
    for node in graph_def.node:
        if node.name in renames:
            node.name = renames[node.name]
        node.input[:] = [_renamed(i, renames) for i in node.input]
    for key, tensor in outputs.items():
        node = graph_def.node.add()
        node.op, node.name = "Identity", key
        node.input.append(_renamed(tensor, renames))
        node.attr["T"].type = frozen.graph.get_tensor_by_name(tensor).dtype.as_datatype_enum
    return graph_def


def _renamed(reference: str, renames: dict[str, str]) -> str:
    """A node input ('name', 'name:1', '^name') with its node renamed."""
    control = reference.startswith("^")
    bare = reference.lstrip("^")
    name, sep, index = bare.partition(":")
    name = renames.get(name, name)
    return ("^" if control else "") + name + (sep + index if sep else "")


def frozen_graph(path: Path, recipe: Recipe, where: str) -> Any:
    """A frozen graph, its placeholders' shapes checked against the recipe's inputs (TensorFlow's
    converters refuse another shape with a ValueError from deep inside)."""
    graph_def = load_graph_def(path)
    shapes = {
        node.name: [d.size if d.size >= 0 else None for d in node.attr["shape"].shape.dim]
        for node in graph_def.node
        if node.op == "Placeholder" and "shape" in node.attr and not node.attr["shape"].shape.unknown_rank
    }
    _check_shapes(recipe, shapes, where)
    return graph_def


GRAPH_LOADERS: dict[str, Callable[[Path, Recipe, str], Any]] = {
    "tf-frozen-graph": frozen_graph,
    "tf-saved-model": saved_model_graph,
    "keras": keras_graph,
}
