"""`zoo check`: which operators of a TFLite or ONNX model TIDL would not run on the accelerator.

The rules are TI's published operator limits (see docs/tidl.md): NonMaxSuppression is never a
TIDL layer; TopK only sorted with a constant K; ArgMax only over the channel axis with keepdims;
Softmax only over width/height; Cast only at the end of the graph; Reshape only to a constant
shape; Gather only from computed (not constant) data. TFLite_Detection_PostProcess runs on ARM
unless TIDL's TFLite delegate recognises it as the detection post-process of an SSD (fed by class
scores through Logistic or Softmax); then it is reported as taken over, not as a problem.

Only what the rules name is reported: a clean result means no known limit is hit, not that TI's
importer will accept every layer.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zookit.errors import UsageError, ZooError

POSTPROCESS_OP = "TFLite_Detection_PostProcess"


@dataclass(frozen=True)
class Finding:
    op: str
    node: str
    reason: str
    accelerated: bool = False  # True: handled by TIDL after all (reported for information)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_model(path: Path) -> list[Finding]:
    if not path.is_file():
        raise UsageError(f"{path}: no such model file")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return check_onnx(path)
    if suffix == ".tflite":
        return check_tflite(path)
    raise UsageError(f"{path}: zoo check reads .tflite and .onnx files")


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.accelerated]


# --- ONNX ----------------------------------------------------------------------------------------


def check_onnx(path: Path) -> list[Finding]:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise ZooError(f"{path}: not a readable ONNX model ({exc})") from None
    with contextlib.suppress(Exception):  # ranks only help read axes; without them the defaults apply
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    graph = model.graph
    constants = {i.name for i in graph.initializer} | {
        o for n in graph.node if n.op_type == "Constant" for o in n.output
    }
    consumed = {i for n in graph.node for i in n.input}
    ranks = _onnx_ranks(model)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    out = []
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        reason = _onnx_rule(node, attrs, constants, consumed, ranks, opset)
        if reason:
            out.append(Finding(node.op_type, node.name or node.output[0], reason))
    return out


def _onnx_rule(
    node: Any,
    attrs: dict[str, Any],
    constants: set[str],
    consumed: set[str],
    ranks: dict[str, int],
    opset: int,
) -> str | None:
    op = node.op_type
    if op == "NonMaxSuppression":
        return "not a TIDL layer: runs on ARM unless a meta-architecture replaces it"
    if op == "TopK":
        if attrs.get("sorted", 1) != 1:
            return "TopK runs on TIDL only with sorted=1"
        if len(node.input) > 1 and node.input[1] not in constants:
            return "TopK runs on TIDL only with K a constant"
    if op == "ArgMax":
        rank = ranks.get(node.input[0], 4)
        axis = attrs.get("axis", 0)
        if (axis if axis < 0 else axis - rank) != -3 or attrs.get("keepdims", 1) != 1:
            return (
                f"ArgMax runs on TIDL only over axis -3 (channels) with keepdims=1 (axis {axis}, rank {rank})"
            )
    if op == "Softmax":
        rank = ranks.get(node.input[0], 2)
        axis = attrs.get("axis", -1 if opset >= 13 else 1)
        if (axis if axis < 0 else axis - rank) not in (-1, -2):
            return f"Softmax runs on TIDL only over width or height (axis {axis} of a rank-{rank} tensor)"
    if op == "Cast" and any(o in consumed for o in node.output):
        return "Cast runs on TIDL only at the end of the graph"
    if op == "Reshape" and len(node.input) > 1 and node.input[1] not in constants:
        return "Reshape runs on TIDL only to a constant shape"
    if op == "Gather" and node.input[0] in constants:
        return "Gather runs on TIDL only from computed data, not a constant table"
    return None


def _onnx_ranks(model: Any) -> dict[str, int]:
    values = list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
    return {
        v.name: len(v.type.tensor_type.shape.dim)
        for v in values
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape")
    }


# --- TFLite --------------------------------------------------------------------------------------


def check_tflite(path: Path) -> list[Finding]:
    from ai_edge_litert import schema_py_generated as schema

    data = path.read_bytes()
    try:
        model = schema.Model.GetRootAsModel(data, 0)
        graph = model.Subgraphs(0)
        count = graph.OperatorsLength()
    except Exception as exc:  # flatbuffers raises struct and index errors on garbage
        raise ZooError(f"{path}: not a readable TFLite model ({exc})") from None
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = []
    for i in range(count):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        custom = code.CustomCode()
        name = custom.decode() if custom else names.get(builtin, str(builtin))
        inputs = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
        ops.append((name, bool(custom), inputs, [int(t) for t in op.OutputsAsNumpy()]))
    producers = {t: (name, ins) for name, _, ins, outs in ops for t in outs}
    consumed = {t for _, _, ins, _ in ops for t in ins}

    def tensor(index: int) -> Any:
        return graph.Tensors(index)

    def constant(index: int) -> bool:
        buffer = tensor(index).Buffer()
        return bool(buffer) and model.Buffers(buffer).DataLength() > 0

    out = []
    for name, custom, ins, outs in ops:
        node = tensor(outs[0]).Name().decode() if outs else name
        if custom and name != POSTPROCESS_OP:
            out.append(Finding(name, node, f"custom op {name}: not a TIDL layer"))
            continue
        reason, accelerated = _tflite_rule(name, ins, outs, tensor, constant, producers, consumed)
        if reason:
            out.append(Finding(name, node, reason, accelerated))
    return out


def _tflite_rule(
    name: str,
    ins: list[int],
    outs: list[int],
    tensor: Any,
    constant: Any,
    producers: dict[int, tuple[str, list[int]]],
    consumed: set[int],
) -> tuple[str | None, bool]:
    def shape(index: int) -> list[int]:
        return list(tensor(index).ShapeAsNumpy()) if tensor(index).ShapeLength() else []

    if name == POSTPROCESS_OP:
        if len(ins) > 1 and _scores_converter(ins[1], producers) in ("LOGISTIC", "SOFTMAX"):
            return "taken over by TIDL's TFLite delegate as the SSD detection post-process", True
        return (
            "runs on ARM: its class scores do not come from Logistic/Softmax, so TIDL does not take it over",
            False,
        )
    if name.startswith("NON_MAX_SUPPRESSION"):
        return "not a TIDL layer: runs on ARM unless a meta-architecture replaces it", False
    if name == "TOPK_V2" and len(ins) > 1 and not constant(ins[1]):
        return "TopK runs on TIDL only with K a constant", False
    if name == "ARG_MAX":
        rank = len(shape(ins[0]))
        return (
            f"ArgMax runs on TIDL only over the channel axis with keepdims (TFLite drops the axis; rank {rank})",
            False,
        )
    if name == "SOFTMAX":
        dims = shape(ins[0])
        if len(dims) == 4 and dims[-1] > 1:
            return "Softmax runs on TIDL only over width or height; this one is over the channels", False
    if name == "CAST" and any(o in consumed for o in outs):
        return "Cast runs on TIDL only at the end of the graph", False
    if name == "RESHAPE" and len(ins) > 1 and ins[1] >= 0 and not constant(ins[1]):
        return "Reshape runs on TIDL only to a constant shape", False
    if name == "GATHER" and constant(ins[0]):
        return "Gather runs on TIDL only from computed data, not a constant table", False
    return None, False


def _scores_converter(tensor: int, producers: dict[int, tuple[str, list[int]]]) -> str | None:
    """The op that made the class scores, looking through reshapes."""
    op = producers.get(tensor)
    while op is not None and op[0] in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") and op[1]:
        op = producers.get(op[1][0])
    return op[0] if op else None
