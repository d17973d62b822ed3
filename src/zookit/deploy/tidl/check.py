"""`zoo check`: which operators of a TFLite or ONNX model TIDL would not run on the accelerator.

The rules are TI's published allow-list (edgeai-tidl-tools ``docs/supported_ops_rts_versions.md``):
an operator TI does not list runs on the ARM core (or is not imported), and a listed one is checked
against the constraints TI states for it where the model file shows them (axes, attributes, constant
inputs, rank). Operators outside the default ONNX domain (``com.microsoft`` QLinear* and the like)
and TFLite custom ops are not TIDL layers. ``TFLite_Detection_PostProcess`` is taken over by TIDL's
TFLite delegate only when it is fed as TI requires (box and class head convolutions, reshaped and
concatenated, class scores through Logistic or Softmax, constant anchors); otherwise it runs on ARM.

A clean result means no published limit is hit, not that TI's importer will accept every layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import UsageError, ZooError

POSTPROCESS_OP = "TFLite_Detection_PostProcess"
REPLACED = "after the detection heads: replaced by TIDL's detection post-process (meta architecture)"


@dataclass(frozen=True)
class Finding:
    op: str
    node: str
    reason: str
    accelerated: bool = False  # True: handled by TIDL after all (reported for information)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_model(path: Path, heads: Iterable[str] = ()) -> list[Finding]:
    """The findings for a model file. ``heads`` names the tensors where a meta architecture takes over
    (box and class head outputs): what comes after them is reported as replaced, not as a problem."""
    if not path.is_file():
        raise UsageError(f"{path}: no such model file")
    if path.stat().st_size == 0:
        raise ZooError(f"{path}: the file is empty, not a model")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return check_onnx(path, set(heads))
    if suffix == ".tflite":
        return check_tflite(path)
    raise UsageError(f"{path}: zoo check reads .tflite and .onnx files")


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.accelerated]


def _axis(axis: int, rank: int) -> int:
    """An axis as a negative index (-1 = width of NCHW), so rules read the same for every rank."""
    return axis - rank if axis >= 0 else axis


# --- ONNX ----------------------------------------------------------------------------------------


@dataclass
class OnnxNode:
    """What a rule sees of one ONNX node."""

    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    graph: OnnxGraph

    def shape(self, index: int = 0) -> list[int] | None:
        if index >= len(self.inputs):
            return None
        return self.graph.shapes.get(self.inputs[index])

    def rank(self, index: int = 0, default: int = 4) -> int:
        shape = self.shape(index)
        return len(shape) if shape is not None else default

    def constant(self, index: int) -> bool:
        return index < len(self.inputs) and self.inputs[index] in self.graph.constants

    def value(self, index: int) -> np.ndarray | None:
        return self.graph.values.get(self.inputs[index]) if index < len(self.inputs) else None


@dataclass
class OnnxGraph:
    shapes: dict[str, list[int]]
    constants: set[str]
    values: dict[str, np.ndarray]
    inputs: set[str]
    outputs: set[str]
    consumers: dict[str, list[str]]  # tensor -> op types reading it
    producers: dict[str, str]  # tensor -> op type making it
    opset: int


Rule = Callable[[OnnxNode], "str | None"]


def _variable_dims(limit: int) -> Rule:
    def rule(n: OnnxNode) -> str | None:
        shape = n.shape(0)
        if shape is not None and sum(1 for d in shape if d != 1) > limit:
            return f"TIDL takes at most {limit} non-singleton input dimensions (input shape {shape})"
        return None

    return rule


def _onnx_cast(n: OnnxNode) -> str | None:
    g = n.graph
    if n.inputs[0] in g.inputs or n.inputs[0] in g.constants or all(o in g.outputs for o in n.outputs):
        return None
    return "Cast runs on TIDL only at the terminal nodes (right after an input or as an output)"


def _onnx_clip(n: OnnxNode) -> str | None:
    low, high = n.attrs.get("min"), n.attrs.get("max")
    if low is None and len(n.inputs) > 1 and n.inputs[1]:
        value = n.value(1)
        low = float(value) if value is not None and value.size == 1 else low
    if high is None and len(n.inputs) > 2 and n.inputs[2]:
        value = n.value(2)
        high = float(value) if value is not None and value.size == 1 else high
    if (low is not None and low > 0) or (high is not None and high <= 0):
        return f"Clip runs on TIDL only with min <= 0 and max > 0 (min {low}, max {high})"
    return None


def _onnx_concat(n: OnnxNode) -> str | None:
    rank = len(n.graph.shapes.get(n.outputs[0], [])) or n.rank(0)
    axis = _axis(int(n.attrs.get("axis", 1)), rank)
    if axis not in (-1, -2, -3) or axis == -rank:
        return (
            f"Concat runs on TIDL only over axis -3, -2 or -1 and never the batch (axis {axis}, rank {rank})"
        )
    return None


def _onnx_softmax(n: OnnxNode) -> str | None:
    rank = n.rank(0, 2)
    axis = _axis(int(n.attrs.get("axis", -1 if n.graph.opset >= 13 else 1)), rank)
    if axis != -1:
        return f"Softmax runs on TIDL only along the width axis (-1); this one is over axis {axis} of rank {rank}"
    return None


def _onnx_two_variables(n: OnnxNode) -> str | None:
    if len(n.inputs) >= 2 and not n.constant(0) and not n.constant(1):
        return f"{n.op} runs on TIDL only with one constant operand (both are variable here)"
    return None


def _onnx_slice(n: OnnxNode) -> str | None:
    if any(not n.constant(i) for i in range(1, min(len(n.inputs), 5)) if n.inputs[i]):
        return "Slice runs on TIDL only with constant starts, ends, axes and steps"
    steps = n.value(4) if len(n.inputs) > 4 and n.inputs[4] else None
    if steps is not None and np.any(steps != 1):
        return f"Slice runs on TIDL only with stride 1 (steps {steps.tolist()})"
    return None


def _onnx_gather(n: OnnxNode) -> str | None:
    if n.constant(0):
        return "Gather runs on TIDL only from variable data (only the indices may be constant)"
    return None


def _onnx_reshape(n: OnnxNode) -> str | None:
    if len(n.inputs) > 1 and not n.constant(1):
        return "Reshape runs on TIDL only to a constant shape"
    if n.attrs.get("allowzero", 0) == 1:
        return "Reshape runs on TIDL only with allowzero = 0"
    return None


def _onnx_argmax(n: OnnxNode) -> str | None:
    axis = _axis(int(n.attrs.get("axis", 0)), n.rank(0))
    if n.attrs.get("keepdims", 1) != 1 or axis != -3:
        return f"ArgMax runs on TIDL only over axis -3 (channels) with keepdims=1 (axis {axis}, rank {n.rank(0)})"
    if n.attrs.get("select_last_index", 0) != 0:
        return "ArgMax runs on TIDL only with select_last_index = 0"
    return None


def _onnx_reduce(n: OnnxNode) -> str | None:
    axes = n.attrs.get("axes")
    if axes is None and len(n.inputs) > 1 and n.inputs[1]:
        value = n.value(1)
        axes = value.tolist() if value is not None else None
    rank = n.rank(0)
    if axes is None or [_axis(int(a), rank) for a in axes] != [-2] or n.attrs.get("keepdims", 1) != 1:
        return f"{n.op} runs on TIDL only along the height axis (-2) with keepdims=1 (axes {axes})"
    return None


def _onnx_topk(n: OnnxNode) -> str | None:
    if n.attrs.get("sorted", 1) != 1:
        return "TopK runs on TIDL only with sorted=1"
    if len(n.inputs) > 1 and not n.constant(1):
        return "TopK runs on TIDL only with K an initializer"
    axis = _axis(int(n.attrs.get("axis", -1)), n.rank(0))
    if axis != -2:
        return f"TopK runs on TIDL only along the height axis (-2); this one is along axis {axis}"
    return None


def _onnx_resize(n: OnnxNode) -> str | None:
    mode = n.attrs.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in ("nearest", "linear"):
        return f"{n.op} runs on TIDL only in 'nearest' or 'linear' mode (mode {mode!r})"
    if n.attrs.get("antialias", 0) != 0:
        return f"{n.op} runs on TIDL only with antialias = 0"
    policy = n.attrs.get("keep_aspect_ratio_policy", b"stretch")
    if (policy.decode() if isinstance(policy, bytes) else str(policy)) != "stretch":
        return f"{n.op} runs on TIDL only with keep_aspect_ratio_policy 'stretch'"
    return None


def _onnx_conv(n: OnnxNode) -> str | None:
    strides = list(n.attrs.get("strides", [1, 1]))
    kernel = list(n.attrs.get("kernel_shape", []))
    if len(strides) == 2 and strides[0] != strides[1]:
        return f"Conv runs on TIDL only with the same stride in both directions (strides {strides})"
    if strides and strides[0] == 2 and kernel and max(kernel) > 7:
        return f"Conv runs on TIDL only with kernels up to 7 at stride 2 (kernel {kernel})"
    if strides and strides[0] == 4 and kernel and kernel != [11, 11]:
        return f"Conv runs on TIDL at stride 4 only with an 11x11 kernel (kernel {kernel})"
    if len(n.inputs) > 1 and not n.constant(1):
        return "Conv runs on TIDL only with constant weights (one variable input)"
    return None


def _onnx_conv_transpose(n: OnnxNode) -> str | None:
    kernel = list(n.attrs.get("kernel_shape", []))
    strides = list(n.attrs.get("strides", [1, 1]))
    if kernel and (kernel not in ([4, 4], [3, 3], [2, 2]) or strides != [2, 2]):
        return f"ConvTranspose runs on TIDL only with 4x4, 3x3 or 2x2 kernels at stride 2 (kernel {kernel}, strides {strides})"
    return None


def _onnx_pad(n: OnnxNode) -> str | None:
    mode = n.attrs.get("mode", b"constant")
    if (mode.decode() if isinstance(mode, bytes) else str(mode)) != "constant":
        return "Pad runs on TIDL only in constant mode"
    return None


def _onnx_batchnorm(n: OnnxNode) -> str | None:
    return (
        "BatchNormalization with training_mode = 1 does not run on TIDL"
        if n.attrs.get("training_mode")
        else None
    )


def _onnx_transpose(n: OnnxNode) -> str | None:
    perm = list(n.attrs.get("perm", []))
    if perm and perm[0] != 0:
        return f"Transpose runs on TIDL only without moving the batch axis (perm {perm})"
    return None


def _onnx_gemm(n: OnnxNode) -> str | None:
    if n.op == "Gemm" and (
        n.attrs.get("transA", 0) != 0 or n.attrs.get("alpha", 1.0) != 1.0 or n.attrs.get("beta", 1.0) != 1.0
    ):
        return "Gemm runs on TIDL only with transA = 0, alpha = 1 and beta = 1"
    return None


def _onnx_depth_to_space(n: OnnxNode) -> str | None:
    if n.attrs.get("blocksize") not in (2, 4, 8):
        return (
            f"DepthToSpace runs on TIDL only with blocksize 2, 4 or 8 (blocksize {n.attrs.get('blocksize')})"
        )
    return None


def _onnx_grid_sample(n: OnnxNode) -> str | None:
    mode = n.attrs.get("mode", b"bilinear")
    padding = n.attrs.get("padding_mode", b"zeros")
    text = (
        mode.decode() if isinstance(mode, bytes) else mode,
        padding.decode() if isinstance(padding, bytes) else padding,
    )
    if text != ("nearest", "zeros") or not n.constant(1):
        return "GridSample runs on TIDL only in nearest mode, zero padding, with a constant grid"
    return None


def _onnx_prelu(n: OnnxNode) -> str | None:
    return None if n.constant(1) else "PRelu runs on TIDL only with a constant slope"


def _onnx_scatter(n: OnnxNode) -> str | None:
    reduction = n.attrs.get("reduction", b"none")
    if (reduction.decode() if isinstance(reduction, bytes) else reduction) != "none":
        return f"{n.op} runs on TIDL only with reduction 'none'"
    return None


def _onnx_reduce_mean(n: OnnxNode) -> str | None:
    """ReduceMean is a TIDL layer only inside the layer-norm pattern ReduceMean-Sub-Pow-ReduceMean-Add-Sqrt-Div."""
    g = n.graph
    first = "Sub" in g.consumers.get(n.outputs[0], [])
    second = g.producers.get(n.inputs[0]) == "Pow" and "Add" in g.consumers.get(n.outputs[0], [])
    if first or second:
        return None
    return "ReduceMean runs on TIDL only as part of a layer norm (or rewritten by TI's onnx model optimizer)"


def _onnx_erf(n: OnnxNode) -> str | None:
    if "Add" in n.graph.consumers.get(n.outputs[0], []) and n.graph.producers.get(n.inputs[0]) == "Div":
        return None
    return "Erf runs on TIDL only as part of GELU (Div-Erf-Add-Mul)"


_DIMS6, _DIMS4, _DIMS2 = _variable_dims(6), _variable_dims(4), _variable_dims(2)

# TI's ONNX operator table: op -> the constraints zookit can read off the file.
ONNX_RULES: dict[str, tuple[Rule, ...]] = {
    "LeakyRelu": (_DIMS6,),
    "Cast": (_onnx_cast,),
    "Clip": (_DIMS6, _onnx_clip),
    "Add": (_DIMS6,),
    "Mul": (_DIMS6,),
    "Sub": (_DIMS6, _onnx_two_variables),
    "Div": (_DIMS6, _onnx_two_variables),
    "Sum": (_DIMS6,),
    "Max": (_DIMS6,),
    "HardSigmoid": (_DIMS6,),
    "Concat": (_DIMS6, _onnx_concat),
    "LayerNormalization": (_DIMS6,),
    "Sigmoid": (_DIMS6,),
    "MatMul": (_DIMS4,),
    "Gemm": (_DIMS4, _onnx_gemm),
    "Tanh": (_DIMS6,),
    "Softmax": (_DIMS6, _onnx_softmax),
    "Slice": (_onnx_slice,),
    "Split": (),
    "Gather": (_DIMS2, _onnx_gather),
    "Relu": (_DIMS6,),
    "DepthToSpace": (_DIMS4, _onnx_depth_to_space),
    "PRelu": (_DIMS6, _onnx_prelu),
    "GlobalAveragePool": (_DIMS4,),
    "MaxPool": (_DIMS4,),
    "Elu": (_DIMS6,),
    "AveragePool": (_DIMS4,),
    "Squeeze": (_DIMS6,),
    "GridSample": (_onnx_grid_sample,),
    "ConvTranspose": (_DIMS4, _onnx_conv_transpose),
    "BatchNormalization": (_DIMS6, _onnx_batchnorm),
    "Reshape": (_DIMS6, _onnx_reshape),
    "ArgMax": (_DIMS4, _onnx_argmax),
    "ReduceMax": (_onnx_reduce,),
    "ReduceMin": (_onnx_reduce,),
    "Resize": (_DIMS4, _onnx_resize),
    "Upsample": (_DIMS4, _onnx_resize),
    "Conv": (_DIMS4, _onnx_conv),
    "ScatterElements": (_DIMS4, _onnx_scatter),
    "ScatterND": (_DIMS4, _onnx_scatter),
    "Pad": (_onnx_pad,),
    "Transpose": (_DIMS6, _onnx_transpose),
    "Flatten": (_DIMS4,),
    "TopK": (_onnx_topk,),
    **{
        op: ()
        for op in ("Sqrt", "Sin", "Pow", "Mish", "Log", "HardSwish", "Floor", "Exp", "Asinh", "Asin", "Abs")
    },
    # fused combinations: TIDL layers only inside their pattern
    "ReduceMean": (_onnx_reduce_mean,),
    "Erf": (_onnx_erf,),
    # data, not layers
    "Constant": (),
}
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


def check_onnx(path: Path, heads: set[str] | None = None) -> list[Finding]:
    import onnx

    model = load_onnx(path)
    with contextlib.suppress(Exception):  # shapes only help read axes; without them the defaults apply
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    graph = _onnx_graph(model)
    after_heads = _downstream(model, heads) if heads else set()
    out = []
    for node in model.graph.node:
        reason = _onnx_reason(node, graph)
        if reason:
            name = node.name or node.output[0]
            replaced = name in after_heads
            out.append(
                Finding(_onnx_op(node), name, f"{REPLACED} ({reason})" if replaced else reason, replaced)
            )
    return out


def _onnx_op(node: Any) -> str:
    return f"{node.domain}.{node.op_type}" if node.domain not in ONNX_DEFAULT_DOMAINS else node.op_type


def _onnx_reason(node: Any, graph: OnnxGraph) -> str | None:
    import onnx

    if node.domain not in ONNX_DEFAULT_DOMAINS:
        return f"operator of domain {node.domain!r}: not a TIDL layer, runs on ARM"
    rules = ONNX_RULES.get(node.op_type)
    if rules is None:
        return f"{node.op_type} is not in TI's supported-operator list: runs on ARM"
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    view = OnnxNode(node.op_type, list(node.input), list(node.output), attrs, graph)
    for rule in rules:
        reason = rule(view)
        if reason:
            return reason
    return None


def _onnx_graph(model: Any) -> OnnxGraph:
    from onnx import numpy_helper

    g = model.graph
    values: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    constants = set(values) | {o for n in g.node if n.op_type == "Constant" for o in n.output}
    shapes = {}
    for v in list(g.value_info) + list(g.input) + list(g.output):
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape"):
            shapes[v.name] = [
                d.dim_value if d.HasField("dim_value") else -1 for d in v.type.tensor_type.shape.dim
            ]
    for name, value in values.items():
        if isinstance(value, np.ndarray):
            shapes.setdefault(name, list(value.shape))
    consumers: dict[str, list[str]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n.op_type)
    return OnnxGraph(
        shapes=shapes,
        constants=constants,
        values=values,
        inputs={i.name for i in g.input} - {i.name for i in g.initializer},
        outputs={o.name for o in g.output},
        consumers=consumers,
        producers={o: n.op_type for n in g.node for o in n.output},
        opset=next((o.version for o in model.opset_import if o.domain in ONNX_DEFAULT_DOMAINS), 13),
    )


def _downstream(model: Any, heads: set[str]) -> set[str]:
    """Names of the nodes that do not feed the heads: what a meta architecture replaces."""
    producers = {o: n for n in model.graph.node for o in n.output}
    backbone: set[int] = set()
    stack = [producers[h] for h in heads if h in producers]
    while stack:
        node = stack.pop()
        if id(node) in backbone:
            continue
        backbone.add(id(node))
        stack += [producers[i] for i in node.input if i in producers]
    return {n.name or n.output[0] for n in model.graph.node if id(n) not in backbone}


# --- TFLite --------------------------------------------------------------------------------------


@dataclass
class TfliteOp:
    name: str
    custom: bool
    inputs: list[int]
    outputs: list[int]
    index: int


class TfliteModel:
    """The first subgraph of a TFLite flatbuffer: operators, tensor names, shapes and constant data."""

    def __init__(self, path: Path):
        from ai_edge_litert import schema_py_generated as schema

        data = path.read_bytes()
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ZooError(f"{path}: not a TFLite model (no TFL3 file identifier)")
        try:
            self.model = schema.Model.GetRootAsModel(data, 0)
            self.graph = self.model.Subgraphs(0)
            count = self.graph.OperatorsLength()
        except Exception as exc:  # flatbuffers raises struct and index errors on garbage
            raise ZooError(f"{path}: not a readable TFLite model ({exc})") from None
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        self.ops: list[TfliteOp] = []
        try:
            for i in range(count):
                op = self.graph.Operators(i)
                code = self.model.OperatorCodes(op.OpcodeIndex())
                builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
                custom = code.CustomCode()
                name = custom.decode() if custom else names.get(builtin, str(builtin))
                inputs = [int(t) for t in op.InputsAsNumpy()] if op.InputsLength() else []
                outputs = [int(t) for t in op.OutputsAsNumpy()] if op.OutputsLength() else []
                self.ops.append(TfliteOp(name, bool(custom), inputs, outputs, i))
        except Exception as exc:
            raise ZooError(f"{path}: not a readable TFLite model ({exc})") from None
        self.producers = {t: op for op in self.ops for t in op.outputs}
        self.outputs = {int(t) for t in self.graph.OutputsAsNumpy()} if self.graph.OutputsLength() else set()

    def name(self, tensor: int) -> str:
        return str(self.graph.Tensors(tensor).Name().decode())

    def shape(self, tensor: int) -> list[int]:
        t = self.graph.Tensors(tensor)
        return [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []

    def constant(self, tensor: int) -> bool:
        if tensor < 0:
            return True
        buffer = self.graph.Tensors(tensor).Buffer()
        return bool(buffer) and self.model.Buffers(buffer).DataLength() > 0

    def value(self, tensor: int) -> np.ndarray | None:
        """A constant int32/int64 tensor's values (axes, shapes, K)."""
        if tensor < 0 or not self.constant(tensor):
            return None
        t = self.graph.Tensors(tensor)
        dtype = {2: np.int32, 4: np.int64}.get(t.Type())
        if dtype is None:
            return None
        return np.frombuffer(self.model.Buffers(t.Buffer()).DataAsNumpy().tobytes(), dtype)

    def producer(self, tensor: int) -> TfliteOp | None:
        return self.producers.get(tensor)


TfliteRule = Callable[[TfliteOp, TfliteModel], "str | None"]


def _tfl_dims(limit: int) -> TfliteRule:
    def rule(op: TfliteOp, m: TfliteModel) -> str | None:
        shape = m.shape(op.inputs[0]) if op.inputs else []
        if sum(1 for d in shape if d != 1) > limit:
            return f"TIDL takes at most {limit} non-singleton input dimensions (input shape {shape})"
        return None

    return rule


def _tfl_argmax(op: TfliteOp, m: TfliteModel) -> str | None:
    rank = len(m.shape(op.inputs[0]))
    axis = m.value(op.inputs[1]) if len(op.inputs) > 1 else None
    # TIDL reads a TFLite (NHWC) model in NCHW: its axis -3, the channels, is TFLite's last axis.
    if axis is None or axis.size != 1 or _axis(int(axis[0]), rank) != -1 or rank > 4:
        got = axis.tolist() if axis is not None else "not constant"
        return f"ARG_MAX runs on TIDL only over the channel axis (TIDL's axis -3; here axis {got} of rank {rank})"
    return None


def _tfl_reshape(op: TfliteOp, m: TfliteModel) -> str | None:
    if len(op.inputs) > 1 and not m.constant(op.inputs[1]):
        return "RESHAPE runs on TIDL only to a constant shape"
    return None


def _tfl_two_variables(op: TfliteOp, m: TfliteModel) -> str | None:
    if len(op.inputs) >= 2 and not m.constant(op.inputs[0]) and not m.constant(op.inputs[1]):
        return f"{op.name} runs on TIDL only with one constant operand (both are variable here)"
    return None


def _tfl_concat(op: TfliteOp, m: TfliteModel) -> str | None:
    from ai_edge_litert import schema_py_generated as schema

    rank = len(m.shape(op.outputs[0]))
    options = m.graph.Operators(op.index).BuiltinOptions()
    if options is None:
        return None
    concat = schema.ConcatenationOptions()
    concat.Init(options.Bytes, options.Pos)
    if rank and _axis(concat.Axis(), rank) == -rank:
        return "CONCATENATION does not run on TIDL along the batch axis"
    return None


def _tfl_transpose(op: TfliteOp, m: TfliteModel) -> str | None:
    perm = m.value(op.inputs[1]) if len(op.inputs) > 1 else None
    if perm is not None and perm.size and perm[0] != 0:
        return f"TRANSPOSE runs on TIDL only without moving the batch axis (perm {perm.tolist()})"
    return None


def _tfl_strided_slice(op: TfliteOp, m: TfliteModel) -> str | None:
    if any(not m.constant(t) for t in op.inputs[1:4]):
        return "STRIDED_SLICE runs on TIDL only with constant begin, end and strides"
    strides = m.value(op.inputs[3]) if len(op.inputs) > 3 else None
    if strides is not None and np.any(strides != 1):
        return f"STRIDED_SLICE runs on TIDL only with stride 1 (strides {strides.tolist()})"
    return None


_T6, _T4 = _tfl_dims(6), _tfl_dims(4)

# TI's TFLite operator table (the current one, with the earlier table's TRANSPOSE_CONV,
# DEPTH_TO_SPACE, MINIMUM and PAD, which TI lists as compatible there).
TFLITE_RULES: dict[str, tuple[TfliteRule, ...]] = {
    "PACK": (),
    "BATCH_TO_SPACE_ND": (),
    "SPACE_TO_BATCH_ND": (),
    "QUANTIZE": (),
    "DEQUANTIZE": (),
    "ARG_MAX": (_tfl_argmax,),
    "AVERAGE_POOL_2D": (_T4,),
    "MAX_POOL_2D": (_T4,),
    "MEAN": (_T4,),
    "SOFTMAX": (_T6,),
    "PRELU": (_T6,),
    "ADD": (_T6,),
    "MUL": (_T6,),
    "SUB": (_T6, _tfl_two_variables),
    "DIV": (_T6, _tfl_two_variables),
    "TANH": (_T6,),
    "PAD": (),
    "FULLY_CONNECTED": (_T4,),
    "SQUEEZE": (),
    "LOGISTIC": (_T6,),
    "RELU": (_T6,),
    "CONV_2D": (_T4,),
    "DEPTHWISE_CONV_2D": (_T4,),
    "TRANSPOSE_CONV": (_T4,),
    "DEPTH_TO_SPACE": (_T4,),
    "ELU": (_T6,),
    "CAST": (),
    "STRIDED_SLICE": (_tfl_strided_slice,),
    "RESHAPE": (_T6, _tfl_reshape),
    "RESIZE_BILINEAR": (_T4,),
    "RESIZE_NEAREST_NEIGHBOR": (_T4,),
    "LEAKY_RELU": (_T6,),
    "TRANSPOSE": (_T6, _tfl_transpose),
    "CONCATENATION": (_T6, _tfl_concat),
    "MINIMUM": (),
}


def check_tflite(path: Path) -> list[Finding]:
    m = TfliteModel(path)
    out = []
    for op in m.ops:
        node = m.name(op.outputs[0]) if op.outputs else op.name
        if op.name == POSTPROCESS_OP:
            heads = postprocess_heads(m, op)
            if heads is not None:
                out.append(
                    Finding(
                        op.name,
                        node,
                        "taken over by TIDL's TFLite delegate as the SSD detection post-process",
                        True,
                    )
                )
            else:
                out.append(
                    Finding(
                        op.name,
                        node,
                        "runs on ARM: TIDL takes it over only when fed by head convolutions through "
                        "Reshape -> Concat (class scores then Logistic/Softmax) with constant anchors",
                    )
                )
            continue
        if op.custom:
            out.append(Finding(op.name, node, f"custom op {op.name}: not a TIDL layer, runs on ARM"))
            continue
        rules = TFLITE_RULES.get(op.name)
        if rules is None:
            out.append(
                Finding(op.name, node, f"{op.name} is not in TI's supported-operator list: runs on ARM")
            )
            continue
        for rule in rules:
            reason = rule(op, m)
            if reason:
                out.append(Finding(op.name, node, reason))
                break
    return out


def postprocess_heads(m: TfliteModel, op: TfliteOp) -> tuple[list[str], list[str]] | None:
    """The box and class head convolutions' output tensor names feeding a TFLite_Detection_PostProcess
    op, when it is fed the way TIDL requires; None otherwise."""
    if len(op.inputs) < 3 or not m.constant(op.inputs[2]):
        return None
    boxes = _heads_behind(m, op.inputs[0], converters=())
    classes = _heads_behind(m, op.inputs[1], converters=("LOGISTIC", "SOFTMAX"))
    if boxes is None or classes is None or len(boxes) != len(classes):
        return None
    return boxes, classes


def _heads_behind(m: TfliteModel, tensor: int, converters: tuple[str, ...]) -> list[str] | None:
    producer = _through(m, tensor, ("RESHAPE", "SQUEEZE"))
    if converters:
        if producer is None or producer.name not in converters:
            return None
        producer = _through(m, producer.inputs[0], ("RESHAPE", "SQUEEZE"))
    if producer is None or producer.name != "CONCATENATION":
        return None
    heads = []
    for t in producer.inputs:
        reshape = m.producer(t)
        if reshape is None or reshape.name != "RESHAPE":
            return None
        conv = m.producer(reshape.inputs[0])
        if conv is None or conv.name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            return None
        heads.append(m.name(conv.outputs[0]))
    return heads


def _through(m: TfliteModel, tensor: int, ops: tuple[str, ...]) -> TfliteOp | None:
    producer = m.producer(tensor)
    while producer is not None and producer.name in ops:
        producer = m.producer(producer.inputs[0])
    return producer
