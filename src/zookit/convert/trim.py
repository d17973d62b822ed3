"""The trim stage: cut a TF graph or an ONNX model to the recipe's inputs and outputs.

A TF graph keeps only what the output arrays need; an interior tensor named as a new input is
replaced by a placeholder of the declared shape and dtype (this bypasses a preprocessing subgraph).
An ONNX model is cut between named tensors with onnx's own extractor, given static input shapes,
shape-inferred and checked. A tensor name that is not in the graph is an error listing the closest
names that are, never a traceback from deep inside a framework.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zookit.errors import ConversionError
from zookit.libs import load
from zookit.ports import Port, node_name, onnx_tensor_name
from zookit.recipe import Recipe, TensorSpec

if TYPE_CHECKING:
    import onnx
    import tensorflow as tf


def missing_tensor_error(tensor: str, known: Iterable[str], where: str, field: str) -> ConversionError:
    known = list(known)
    close = difflib.get_close_matches(node_name(tensor), known, n=5, cutoff=0.5)
    hint = f"; the closest names in the graph are: {', '.join(close)}" if close else ""
    return ConversionError(f"{where}: {field}: tensor {tensor!r} is not in the graph{hint}")


# --- TensorFlow ----------------------------------------------------------------------------------


def load_graph_def(path: Path) -> tf.compat.v1.GraphDef:
    tf = load("tensorflow")
    from google.protobuf.message import DecodeError

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except (DecodeError, OSError) as exc:
        raise ConversionError(f"{path}: not a readable TF frozen graph ({exc})") from None
    return graph_def


def source_ports(recipe: Recipe) -> tuple[list[Port], list[Port]]:
    """The inputs and outputs of the model after trimming, as the recipe declares them."""
    if recipe.trim.inputs:
        inputs = [Port(t.name or node_name(t.tensor), tuple(t.shape), t.dtype) for t in recipe.trim.inputs]
    else:
        inputs = [_port(s) for s in recipe.inputs]
    if recipe.trim.outputs:
        declared = {s.name: s for s in recipe.outputs}
        outputs = [
            _port(declared[n]) if n in declared else Port(node_name(n), (), "float32")
            for n in recipe.trim.outputs
        ]
    else:
        outputs = [_port(s) for s in recipe.outputs]
    return inputs, outputs


def _port(spec: TensorSpec) -> Port:
    return Port(node_name(spec.name), tuple(spec.shape), spec.dtype)


def trim_graph_def(graph_def: tf.compat.v1.GraphDef, recipe: Recipe, where: str) -> tf.compat.v1.GraphDef:
    """Cut ``graph_def`` to the recipe's trim points (or its declared inputs/outputs)."""
    tf = load("tensorflow")

    nodes = {n.name: n for n in graph_def.node}
    inputs, outputs = source_ports(recipe)
    out_field = "trim.outputs" if recipe.trim.outputs else "outputs"
    for p in outputs:
        if p.name not in nodes:
            raise missing_tensor_error(p.name, nodes, where, out_field)
    for i, t in enumerate(recipe.trim.inputs):
        if node_name(t.tensor) not in nodes:
            raise missing_tensor_error(t.tensor, nodes, where, f"trim.inputs[{i}].tensor")
    for spec in recipe.inputs if not recipe.trim.inputs else []:
        if node_name(spec.name) not in nodes:
            raise missing_tensor_error(spec.name, nodes, where, "inputs")

    out = tf.compat.v1.GraphDef()
    out.CopyFrom(graph_def)
    for t in recipe.trim.inputs:
        _replace_with_placeholder(out, node_name(t.tensor), t.name or node_name(t.tensor), t.shape, t.dtype)
    from tensorflow.python.util import deprecation

    try:
        with deprecation.silence():  # its "designed for TensorFlow v1" warning is not the user's to act on
            trimmed = tf.compat.v1.graph_util.extract_sub_graph(out, [p.name for p in outputs])
    except (AssertionError, ValueError) as exc:
        raise ConversionError(
            f"{where}: cannot cut the graph at {[p.name for p in outputs]}: {exc}"
        ) from None
    _defaults_to_identity(trimmed, {p.name for p in inputs})
    _check_inputs_reached(trimmed, recipe, inputs, where)
    return trimmed


def _defaults_to_identity(graph_def: tf.compat.v1.GraphDef, declared: set[str]) -> None:
    """A PlaceholderWithDefault the recipe does not declare as an input is never fed (a retrained graph's
    ``input_1/BottleneckInputPlaceholder``, a ``keras_learning_phase``): it becomes an Identity of its
    default, so the converter does not take it for an input."""
    for node in graph_def.node:
        if node.op == "PlaceholderWithDefault" and node.name not in declared:
            dtype = node.attr["dtype"].type
            node.op = "Identity"
            for key in list(node.attr):
                del node.attr[key]
            node.attr["T"].type = dtype


def _replace_with_placeholder(
    graph_def: Any, tensor_node: str, new_name: str, shape: list[int], dtype: str
) -> None:
    tf = load("tensorflow")

    for i, node in enumerate(graph_def.node):
        if node.name == tensor_node:
            del graph_def.node[i]
            break
    placeholder = graph_def.node.add()
    placeholder.name = new_name
    placeholder.op = "Placeholder"
    placeholder.attr["dtype"].type = tf.as_dtype(dtype).as_datatype_enum
    placeholder.attr["shape"].shape.CopyFrom(tf.TensorShape(shape).as_proto())
    if new_name != tensor_node:
        for node in graph_def.node:
            for j, inp in enumerate(node.input):
                if node_name(inp) == tensor_node and not inp.startswith("^"):
                    suffix = inp[len(tensor_node) :]
                    node.input[j] = new_name + (suffix if suffix not in (":0",) else "")


def _check_inputs_reached(trimmed: Any, recipe: Recipe, inputs: list[Port], where: str) -> None:
    """Every placeholder left must be a declared input: else the cut left a hole in the graph."""
    declared = {p.name for p in inputs}
    left = [n.name for n in trimmed.node if n.op in ("Placeholder", "PlaceholderWithDefault")]
    extra = [n for n in left if n not in declared]
    if extra:
        raise ConversionError(
            f"{where}: after trimming, the graph still needs inputs {extra} that the recipe does not declare; "
            "declare them in inputs or cut above them with trim.inputs"
        )
    for p in inputs:
        if p.name not in left:
            raise ConversionError(
                f"{where}: input {p.name!r} is not used by the outputs {[o.name for o in source_ports(recipe)[1]]}"
            )


# --- ONNX ----------------------------------------------------------------------------------------


def trim_onnx(
    model: onnx.ModelProto, recipe: Recipe, where: str, outputs: list[Port] | None = None
) -> onnx.ModelProto:
    """Cut an ONNX model between the recipe's tensors (or ``outputs``), with static input shapes,
    inferred shapes, and checked."""
    import onnx
    from onnx.utils import Extractor

    inputs, declared = source_ports(recipe)
    outputs = outputs or declared
    known = {i.name for i in model.graph.input} | {o for n in model.graph.node for o in n.output}
    out_field = "trim.outputs" if recipe.trim.outputs else "outputs"
    for field, ports in (("inputs", inputs), (out_field, outputs)):
        for p in ports:
            if onnx_tensor_name(p.name, known) is None:
                raise missing_tensor_error(p.name, known, where, field)
    in_names = [onnx_tensor_name(p.name, known) or p.name for p in inputs]
    out_names = [onnx_tensor_name(p.name, known) or p.name for p in outputs]
    model = static_onnx(model, recipe, where)
    try:
        if [i.name for i in model.graph.input] != in_names or [
            o.name for o in model.graph.output
        ] != out_names:
            model = Extractor(model).extract_model(in_names, out_names)
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False)
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ConversionError(f"{where}: the trimmed ONNX model is invalid: {exc}") from None
    return model


def static_onnx(model: onnx.ModelProto, recipe: Recipe, where: str) -> onnx.ModelProto:
    """The model with the recipe's static input shapes and every shape inferred from them."""
    import onnx

    inputs, _ = source_ports(recipe)
    names = {i.name for i in model.graph.input}
    shapes = {onnx_tensor_name(p.name, names) or p.name: p.shape for p in inputs}
    model = _static_inputs(model, shapes)
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except onnx.shape_inference.InferenceError as exc:
        raise ConversionError(f"{where}: shape inference failed: {exc}") from None


def _static_inputs(model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]]) -> onnx.ModelProto:
    import onnx

    model = onnx.ModelProto.FromString(model.SerializeToString())
    initializers = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in shapes and value.name not in initializers:
            dims = value.type.tensor_type.shape.dim
            shape = shapes[value.name]
            if len(dims) not in (0, len(shape)):
                raise ConversionError(
                    f"input {value.name!r} has rank {len(dims)} but the recipe says {list(shape)}"
                )
            del dims[:]
            for d in shape:
                dims.add().dim_value = d
    return model
