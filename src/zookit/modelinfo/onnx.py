"""`zoo inspect` of an ONNX file: inputs and outputs (shapes from ONNX's shape inference), operators,
likely trim points, and a note when the graph is cyclic (converters and runtimes refuse it)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from zookit.modelinfo.facts import ModelInfo, TensorInfo, operator_counts
from zookit.trimpoints import GraphNode, cycle_tensor, trim_points


def inspect_onnx(path: Path) -> ModelInfo:
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
        operator_counts(n.op_type for n in g.node),
        points,
        notes=notes,
    )
