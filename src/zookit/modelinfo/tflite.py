"""`zoo inspect` of a TFLite file: inputs, outputs, operators, likely trim points, and the facts of a
``TFLite_Detection_PostProcess`` op (its options, the tensors it reads, its anchors). The op's outputs get
the shapes the op gives: TOCO-made files such as Google's quantized SSD-MobileNet leave them empty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.errors import ConversionError, ZooError
from zookit.modelinfo.facts import ModelInfo, TensorInfo, operator_counts
from zookit.trimpoints import GraphNode, trim_points


def inspect_tflite(path: Path) -> ModelInfo:
    from ai_edge_litert import schema_py_generated as schema

    from zookit.convert.tflite_trim import postprocess_facts
    from zookit.graphs import TfliteModel

    model = TfliteModel(path)
    type_names = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    try:
        facts = postprocess_facts(path.read_bytes(), str(path))
    except ConversionError as exc:
        raise ZooError(str(exc)) from None
    op_shapes = dict(zip(facts.outputs, facts.output_shapes, strict=True)) if facts else {}

    def shape_of(index: int) -> list[int] | None:
        t = model.graph.Tensors(index)
        signature = [int(d) for d in t.ShapeSignatureAsNumpy()] if t.ShapeSignatureLength() else None
        return signature or model.shape(index) or op_shapes.get(model.name(index)) or None

    def info(index: int) -> TensorInfo:
        t = model.graph.Tensors(index)
        quant = t.Quantization()
        q = None
        if quant is not None and quant.ScaleLength() == 1:
            q = {"scale": float(quant.Scale(0)), "zero_point": int(quant.ZeroPoint(0))}
        return TensorInfo(model.name(index), shape_of(index), type_names.get(t.Type(), "?"), q)

    names = {model.name(i): i for i in range(model.graph.TensorsLength())}
    nodes = [
        GraphNode(
            model.name(op.outputs[0]) if op.outputs else op.name,
            op.name,
            [model.name(i) for i in op.inputs if i >= 0 and not model.constant(i)],
            [model.name(i) for i in op.outputs],
        )
        for op in model.ops
    ]
    outputs = (
        [model.name(int(i)) for i in model.graph.OutputsAsNumpy()] if model.graph.OutputsLength() else []
    )
    points = trim_points(nodes, outputs, lambda t: shape_of(names[t]) if t in names else None)
    return ModelInfo(
        str(path),
        "tflite",
        [info(int(i)) for i in model.graph.InputsAsNumpy()] if model.graph.InputsLength() else [],
        [info(names[n]) for n in outputs],
        operator_counts(op.name for op in model.ops),
        points,
        facts=_facts(facts),
        notes=["a recipe trims a TFLite source with trim.outputs (and trim.inputs) tensor names"],
    )


def _facts(facts: Any) -> dict[str, Any]:
    if facts is None:
        return {}
    out: dict[str, Any] = {"postprocess": facts.as_dict()}
    if facts.anchors is not None:
        a = facts.anchors
        out["postprocess"]["anchors_range"] = [round(float(a.min()), 6), round(float(a.max()), 6)]
    return out
