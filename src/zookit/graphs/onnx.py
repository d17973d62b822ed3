"""An ONNX model read: loaded (refusing what is not one), its initializers read (external data only from
beside the model), and its graph as a ``Graph``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import ZooError
from zookit.graphs.view import Graph, Node, Tensor

ONNX_DEFAULT_DOMAINS = ("", "ai.onnx")


def load_onnx(path: Path) -> Any:
    """The model, refusing what is not an ONNX model (onnx.load accepts an empty or foreign file as an
    empty model)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ZooError(f"{path}: not a readable ONNX model ({exc})") from None
    if not model.graph.node or not model.opset_import:
        raise ZooError(f"{path}: not an ONNX model (no graph nodes or no opset)")
    return model


def initializer_value(tensor: Any, path: Path) -> np.ndarray:
    """An initializer's values; one kept in an external file is read only from inside the model's folder
    (ZooError naming the tensor and the file otherwise, or when it cannot be read)."""
    import onnx
    from onnx import numpy_helper

    where = ""
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        where = next((e.value for e in tensor.external_data if e.key == "location"), "")
        folder = path.parent.resolve()
        target = (folder / where).resolve()
        if not where or Path(where).is_absolute() or folder not in target.parents:
            raise ZooError(
                f"{path}: initializer {tensor.name!r} keeps its data in {where!r}, outside the model's folder "
                f"{folder}; zookit reads external data only from beside the model"
            )
    try:
        return numpy_helper.to_array(tensor, base_dir=str(path.parent))
    except Exception as exc:  # onnx raises ValidationError, OSError, ValueError on bad external data
        raise ZooError(
            f"{path}: cannot read initializer {tensor.name!r} ({where or 'in the file'}): {exc}"
        ) from None


def onnx_graph(path: Path) -> Graph:
    import onnx
    from onnx import numpy_helper

    model = load_onnx(path)
    with contextlib.suppress(Exception):  # shapes only help read axes; without them the rules skip
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    g = model.graph
    values: dict[str, np.ndarray] = {i.name: initializer_value(i, path) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    constants = set(values) | {o for n in g.node if n.op_type == "Constant" for o in n.output}
    shapes: dict[str, list[int]] = {name: list(v.shape) for name, v in values.items()}
    for v in list(g.value_info) + list(g.input) + list(g.output):
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            dims = v.type.tensor_type.shape.dim
            shapes[v.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in dims]

    def tensor(name: str) -> Tensor | None:
        if not name:
            return None
        return Tensor(name, shapes.get(name), values.get(name), name in constants)

    nodes = []
    for index, n in enumerate(g.node):
        custom = n.domain not in ONNX_DEFAULT_DOMAINS
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        nodes.append(
            Node(
                f"{n.domain}.{n.op_type}" if custom else n.op_type,
                n.name or n.output[0],
                [tensor(i) for i in n.input],
                [t for t in (tensor(o) for o in n.output) if t is not None],
                attrs,
                custom,
                index,
            )
        )
    return Graph(
        "onnx",
        nodes,
        inputs={i.name for i in g.input} - {i.name for i in g.initializer},
        outputs={o.name for o in g.output},
        opset=next((o.version for o in model.opset_import if o.domain in ONNX_DEFAULT_DOMAINS), 13),
    )
