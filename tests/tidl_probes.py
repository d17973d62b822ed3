"""Probe models for TI's operator table: for each row of edgeai-tidl-tools 11_00_06_00
docs/supported_ops_rts_versions.md, small generated models on each side of a limit the row states.

The verdict each probe expects is TI's, read from the row (line numbers in ``ROW_LINES`` below, copied
from TI's file, so the test does not take them from zookit's table): ``inside`` probes keep every stated
constraint, ``outside`` probes break one. ONNX probes are built with onnx.helper and pass onnx.checker;
TFLite probes are flatbuffers written with the TFLite schema's object API and load in LiteRT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Spec = tuple[str, Any] | None  # ("var", shape) | ("ivar", shape) | ("const", array) | None (omitted)


def V(*shape: int) -> Spec:
    return ("var", list(shape))


def IV(*shape: int) -> Spec:
    return ("ivar", list(shape))


def K(value: Any, dtype: Any = np.float32) -> Spec:
    return ("const", np.asarray(value, dtype))


def R(*shape: int) -> Spec:  # constant weights
    return ("const", np.random.default_rng(0).normal(0, 0.1, shape).astype(np.float32))


I64 = np.int64
SIX, SEVEN = [2] * 6, [2] * 7


@dataclass(frozen=True)
class Case:
    framework: str
    row: str  # TI's row number
    name: str
    inside: bool  # TI's verdict: True, TIDL runs it; False, it runs on ARM
    build: Callable[[Path], Path]


# --- ONNX ----------------------------------------------------------------------------------------


def onnx_model(
    op: str,
    inputs: list[Spec],
    attrs: dict[str, Any] | None = None,
    opset: int = 18,
    outputs: int = 1,
    before: list[Any] | None = None,
    after: list[Any] | None = None,
    graph_outputs: list[str] | None = None,
) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        from onnx import TensorProto, checker, helper, numpy_helper, shape_inference

        graph_inputs, inits, names = [], [], []
        for i, spec in enumerate(inputs):
            if spec is None:
                names.append("")
                continue
            kind, value = spec
            name = f"in{i}"
            if kind == "var":
                graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, value))
            elif kind == "ivar":
                graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.INT64, value))
            else:
                inits.append(numpy_helper.from_array(value, name))
            names.append(name)
        outs = [f"out{j}" for j in range(outputs)]
        node = helper.make_node(op, names, outs, name="probe", **(attrs or {}))
        nodes = [*list(before or []), node, *list(after or [])]
        graph = helper.make_graph(
            nodes,
            "probe",
            graph_inputs,
            [helper.make_empty_tensor_value_info(o) for o in (graph_outputs or outs)],
            inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model = shape_inference.infer_shapes(model, strict_mode=True)  # types the outputs; refuses nonsense
        checker.check_model(model)
        path.write_bytes(model.SerializeToString())
        return path

    return build


def unary(op: str, shape: list[int], opset: int = 18, **attrs: Any) -> Callable[[Path], Path]:
    return onnx_model(op, [V(*shape)], attrs, opset)


def pair(
    row: str, op: str, inside: Callable[[Path], Path], outside: Callable[[Path], Path], tag: str = ""
) -> list[Case]:
    fw = "tflite" if op.isupper() else "onnx"
    suffix = f" {tag}" if tag else ""
    return [
        Case(fw, row, f"{op}{suffix} inside", True, inside),
        Case(fw, row, f"{op}{suffix} outside", False, outside),
    ]


def dims6(row: str, op: str, opset: int = 18, extra: list[Spec] | None = None, **attrs: Any) -> list[Case]:
    """A row whose limit is 'non-singleton variable input dimensions <= 6'."""
    return pair(
        row,
        op,
        onnx_model(op, [V(*SIX), *(extra or [])], attrs, opset),
        onnx_model(op, [V(*SEVEN), *(extra or [])], attrs, opset),
    )


def _bn(shape: list[int]) -> Callable[[Path], Path]:
    c = shape[1]
    return onnx_model("BatchNormalization", [V(*shape), R(c), R(c), R(c), K(np.ones(c))])


def _conv(x: list[int], w: list[int], **attrs: Any) -> Callable[[Path], Path]:
    return onnx_model("Conv", [V(*x), R(*w)], attrs)


def _pool(op: str, shape: list[int], **attrs: Any) -> Callable[[Path], Path]:
    return onnx_model(op, [V(*shape)], attrs)


def _resize(scales: list[float], **attrs: Any) -> Callable[[Path], Path]:
    return onnx_model("Resize", [V(1, 4, 8, 8), None, K(scales)], attrs)


def _layer_norm_pattern(path: Path) -> Path:
    from onnx import helper

    after = [
        helper.make_node("Sub", ["in0", "out0"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["p"]),
        helper.make_node("ReduceMean", ["p", "in1"], ["v"]),
        helper.make_node("Add", ["v", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Div", ["d", "s"], ["y"]),
    ]
    consts = [
        helper.make_node("Constant", [], ["two"], value=helper.make_tensor("t", 1, [], [2.0])),
        helper.make_node("Constant", [], ["eps"], value=helper.make_tensor("e", 1, [], [1e-5])),
    ]
    return onnx_model(
        "ReduceMean", [V(1, 4, 8), K([-1], I64)], before=consts, after=after, graph_outputs=["y"]
    )(path)


def _gelu(path: Path) -> Path:
    """x -> Div(sqrt 2) -> Erf -> Add(1) -> Mul(x): TI's GELU pattern."""
    from onnx import helper

    before = [
        helper.make_node("Constant", [], ["sq2"], value=helper.make_tensor("s", 1, [], [1.4142135])),
        helper.make_node("Constant", [], ["one"], value=helper.make_tensor("o", 1, [], [1.0])),
        helper.make_node("Div", ["x", "sq2"], ["in0"]),
    ]
    after = [helper.make_node("Add", ["out0", "one"], ["a"]), helper.make_node("Mul", ["x", "a"], ["y"])]
    return _chain(path, before, "Erf", {}, after)


def _cast_between(path: Path) -> Path:
    """A Cast with layers on both sides: not at a terminal node."""
    from onnx import helper

    before, after = [helper.make_node("Relu", ["x"], ["in0"])], [helper.make_node("Relu", ["out0"], ["y"])]
    return _chain(path, before, "Cast", {"to": 1}, after)


def _chain(path: Path, before: list[Any], op: str, attrs: dict[str, Any], after: list[Any]) -> Path:
    """Graph input x -> before -> in0 -> the probe -> out0 -> after -> graph output y."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [*before, helper.make_node(op, ["in0"], ["out0"], name="probe", **attrs), *after]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    graph = helper.make_graph(nodes, "g", [x], [helper.make_empty_tensor_value_info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


X4 = [1, 4, 8, 8]
ONNX_CASES: list[Case] = [
    *pair(
        "1",
        "Conv",
        _conv(X4, [4, 4, 3, 3]),
        _conv(X4, [4, 4, 9, 9], strides=[2, 2]),
        "kernel > 7 at stride 2",
    ),
    *pair(
        "1",
        "Conv",
        _conv(X4, [4, 1, 3, 3], group=4, strides=[2, 2], pads=[1, 1, 1, 1]),
        _conv(X4, [4, 1, 5, 5], group=4, pads=[2, 2, 2, 2]),
        "depthwise 3x3s2 vs 5x5s1",
    ),
    *pair(
        "1",
        "Conv",
        _conv(X4, [4, 4, 3, 3], strides=[2, 2]),
        _conv(X4, [4, 4, 3, 3], strides=[1, 2]),
        "strides",
    ),
    # TI's "input width less than MAX(pad left, pad right)": pads implied by auto_pad count (#29 4d). A
    # width-2 input: a 1x3 kernel pads 1 and 1, a 1x7 one 3 and 3 (SAME_UPPER), a 1x8 one 4 and 3 (SAME_LOWER)
    *pair(
        "1",
        "Conv",
        _conv([1, 4, 8, 2], [4, 4, 1, 3], auto_pad="SAME_UPPER"),
        _conv([1, 4, 8, 2], [4, 4, 1, 7], auto_pad="SAME_UPPER"),
        "auto_pad SAME_UPPER pads over the width",
    ),
    *pair(
        "1",
        "Conv",
        _conv([1, 4, 8, 2], [4, 4, 1, 3], auto_pad="SAME_LOWER"),
        _conv([1, 4, 8, 2], [4, 4, 1, 8], auto_pad="SAME_LOWER"),
        "auto_pad SAME_LOWER pads over the width",
    ),
    *pair(
        "1",
        "Conv",
        onnx_model("Conv", [V(*X4), R(4, 4, 3, 3)]),
        onnx_model("Conv", [V(*X4), V(4, 4, 3, 3)]),
        "variable weights",
    ),
    *pair(
        "2",
        "MaxPool",
        _pool("MaxPool", X4, kernel_shape=[2, 2]),
        _pool("MaxPool", X4, kernel_shape=[2, 2], dilations=[2, 2]),
        "dilated",
    ),
    *pair(
        "2",
        "AveragePool",
        _pool("AveragePool", X4, kernel_shape=[2, 2]),
        _pool("AveragePool", [2, 4, 8, 8, 2], kernel_shape=[2, 2, 1]),
        "dims",
    ),
    *pair(
        "2",
        "GlobalAveragePool",
        _pool("GlobalAveragePool", X4),
        onnx_model("GlobalAveragePool", [R(*X4)]),
        "constant input",
    ),
    *dims6("3", "Relu"),
    *pair(
        "4",
        "PRelu",
        onnx_model("PRelu", [V(*X4), R(4, 1, 1)]),
        onnx_model("PRelu", [V(*X4), V(4, 1, 1)]),
        "slope",
    ),
    *pair(
        "5",
        "Div",
        onnx_model("Div", [V(*X4), V(*X4)]),
        onnx_model("Div", [V(*SEVEN), V(*SEVEN)]),
        "two variables",
    ),
    *pair(
        "5",
        "Sub",
        onnx_model("Sub", [V(*X4), R(1, 4, 1, 1)]),
        onnx_model("Sub", [V(*X4), V(*X4)]),
        "two variables",
    ),
    *pair(
        "5",
        "Sub",
        onnx_model("Sub", [V(*X4), R(1, 1, 1, 8)]),
        onnx_model("Sub", [V(*X4), R(1, 1, 8, 1)]),
        "vector axis",
    ),
    *pair(
        "5",
        "Add",
        onnx_model("Add", [V(*X4), V(1, 4, 1, 1)]),
        onnx_model("Add", [V(2, 4, 8, 8), V(1, 4, 8, 8)]),
        "broadcast batch",
    ),
    *pair(
        "5",
        "Sum",
        onnx_model("Sum", [V(*X4), V(*X4), V(*X4)]),
        onnx_model("Sum", [V(*SEVEN), V(*SEVEN)]),
        "dims",
    ),
    *pair(
        "6",
        "Gemm",
        onnx_model("Gemm", [V(1, 8), R(8, 4), R(4)]),
        onnx_model("Gemm", [V(1, 8), R(8, 4), R(4)], {"alpha": 2.0}),
        "alpha",
    ),
    *pair(
        "6",
        "Gemm",
        onnx_model("Gemm", [V(1, 8), R(8, 4), R(1, 4)]),
        onnx_model("Gemm", [V(1, 8), R(8, 4), R(1, 1)]),
        "bias size",
    ),
    *pair(
        "7",
        "MatMul",
        onnx_model("MatMul", [V(1, 4, 8, 8), R(8, 4)]),
        onnx_model("MatMul", [V(2, 2, 2, 2, 8), R(8, 4)]),
        "dims",
    ),
    *pair(
        "8",
        "Softmax",
        onnx_model("Softmax", [V(*X4)], {"axis": 2}),
        onnx_model("Softmax", [V(*X4)], {"axis": 1}),
        "height vs channels",
    ),
    *pair("9", "BatchNormalization", _bn(X4), _bn([2, 2, 2, 2, 2, 2, 2]), "dims"),
    *pair(
        "10",
        "ConvTranspose",
        onnx_model("ConvTranspose", [V(*X4), R(4, 4, 2, 2)], {"strides": [2, 2]}),
        onnx_model("ConvTranspose", [V(*X4), R(4, 4, 3, 3)], {"strides": [2, 2]}),
        "kernel 3x3",
    ),
    *pair(
        "11",
        "Concat",
        onnx_model("Concat", [V(*X4), V(*X4)], {"axis": 1}),
        onnx_model("Concat", [V(*X4), V(*X4)], {"axis": 0}),
        "batch",
    ),
    *pair(
        "12",
        "Slice",
        onnx_model("Slice", [V(*X4), K([0], I64), K([2], I64), K([1], I64)]),
        onnx_model("Slice", [V(*X4), K([0], I64), K([8], I64), K([3], I64), K([2], I64)]),
        "stride 2",
    ),
    *pair(
        "12",
        "Split",
        onnx_model("Split", [V(*X4), K([2, 2], I64)], {"axis": 1}, outputs=2),
        onnx_model("Split", [V(2, 4, 8, 8), K([2, 2], I64)], {"axis": 1}, outputs=2),
        "batch 2",
    ),
    *pair("13", "Flatten", unary("Flatten", SIX), unary("Flatten", SEVEN), "up to 6 dims"),
    *pair("14", "Dropout", unary("Relu", X4), unary("Dropout", X4), "individual"),
    *pair(
        "15",
        "ArgMax",
        onnx_model("ArgMax", [V(*X4)], {"axis": 1}),
        onnx_model("ArgMax", [V(*X4)], {"axis": 3}),
        "axis",
    ),
    *pair(
        "16",
        "Resize",
        _resize(
            [1, 1, 2, 2], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"
        ),
        _resize(
            [1, 1, 3, 3], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"
        ),
        "scale 3",
    ),
    *pair(
        "16",
        "Resize",
        _resize([1, 1, 4, 4], mode="linear"),
        _resize([1, 1, 2, 4], mode="linear"),
        "unequal scales",
    ),
    *pair(
        "16",
        "Resize",
        _resize([1, 1, 2, 2], mode="linear"),
        _resize([1, 1, 2, 2], mode="linear", coordinate_transformation_mode="asymmetric"),
        "linear asymmetric",
    ),
    # ONNX itself requires what row 17 states (a 4D input, channels a multiple of blocksize^2): no valid
    # model is outside it, so the row has an inside probe only.
    Case(
        "onnx",
        "17",
        "DepthToSpace inside",
        True,
        onnx_model("DepthToSpace", [V(1, 8, 4, 4)], {"blocksize": 2}),
    ),
    *dims6("18", "Sigmoid"),
    *pair(
        "19",
        "Pad",
        onnx_model("Pad", [V(*X4), K([0, 0, 1, 1, 0, 0, 1, 1], I64)]),
        onnx_model("Pad", [V(*X4), K([0, 1, 0, 0, 0, 1, 0, 0], I64)]),
        "channel axis",
    ),
    *pair(
        "19",
        "Pad",
        onnx_model("Pad", [V(*X4), K([0, 0, 1, 1, 0, 0, 1, 1], I64)]),
        onnx_model("Pad", [V(*X4), K([0, 0, 1, 1, 0, 0, 1, 1], I64)], {"mode": "reflect"}),
        "mode",
    ),
    *pair(
        "20",
        "ReduceMax",
        onnx_model("ReduceMax", [V(*X4), K([2], I64)]),
        onnx_model("ReduceMax", [V(*X4), K([3], I64)]),
        "axis",
    ),
    *pair(
        "20",
        "ReduceMin",
        onnx_model("ReduceMin", [V(*X4), K([2], I64)]),
        onnx_model("ReduceMin", [V(*X4), K([2], I64)], {"keepdims": 0}),
        "keepdims",
    ),
    *pair(
        "21",
        "ScatterND",
        onnx_model("ScatterND", [K(np.zeros((1, 1, 1, 8))), IV(1, 4), V(1)], {"reduction": "add"}, opset=18),
        onnx_model("ScatterND", [K(np.zeros((1, 1, 1, 8))), IV(1, 4), V(1)], {"reduction": "mul"}, opset=18),
        "reduction",
    ),
    *pair(
        "21",
        "ScatterElements",
        onnx_model(
            "ScatterElements", [K(np.zeros((1, 1, 1, 8))), IV(1, 1, 1, 2), V(1, 1, 1, 2)], {"axis": 3}
        ),
        onnx_model(
            "ScatterElements",
            [K(np.zeros((1, 1, 1, 8))), IV(1, 1, 1, 2), V(1, 1, 1, 2)],
            {"axis": 3, "reduction": "add"},
        ),
        "reduction",
    ),
    *dims6("22", "Squeeze"),
    *dims6("23", "Tanh"),
    *dims6("24", "HardSigmoid"),
    *dims6("25", "Elu"),
    *pair(
        "26",
        "Reshape",
        onnx_model("Reshape", [V(*X4), K([1, 4, 64], I64)]),
        onnx_model("Reshape", [V(*X4), IV(3)]),
        "variable shape",
    ),
    *pair(
        "27",
        "Gather",
        onnx_model("Gather", [V(1, 1, 8, 8), K([0, 2], I64)], {"axis": 2}),
        onnx_model("Gather", [V(1, 4, 8, 8), K([0, 2], I64)], {"axis": 2}),
        "leading dims",
    ),
    *pair(
        "27",
        "Gather",
        onnx_model("Gather", [V(1, 1, 8, 8), K([0, 2], I64)], {"axis": 2}),
        onnx_model("Gather", [R(1, 1, 8, 8), IV(2)], {"axis": 2}),
        "constant data",
    ),
    *dims6("28", "Transpose"),
    *pair(
        "29",
        "LayerNormalization",
        onnx_model("LayerNormalization", [V(1, 4, 8), R(8), R(8)], {"axis": -1}),
        onnx_model("LayerNormalization", [V(1, 4, 8), R(4, 8), R(4, 8)], {"axis": 1}),
        "channel axis",
    ),
    *pair(
        "30",
        "GridSample",
        onnx_model("GridSample", [V(*X4), V(1, 8, 8, 2)], {"mode": "linear"}, opset=20),
        onnx_model("GridSample", [V(*X4), V(1, 8, 8, 2)], {"mode": "cubic"}, opset=20),
        "mode",
    ),
    *pair(
        "31",
        "TopK",
        onnx_model("TopK", [V(*X4), K([2], I64)], {"axis": 2}, outputs=2),
        onnx_model("TopK", [V(*X4), K([2], I64)], {"axis": 3}, outputs=2),
        "axis",
    ),
    *pair(
        "32",
        "DeformConv",
        onnx_model("DeformConv", [V(*X4), R(4, 4, 3, 3), V(1, 18, 6, 6)], opset=19),
        onnx_model("DeformConv", [V(*X4), R(4, 4, 3, 3), V(1, 18, 3, 3)], {"strides": [2, 2]}, opset=19),
        "stride",
    ),
    *pair(
        "33",
        "Clip",
        onnx_model("Clip", [V(*X4), K(0.0), K(6.0)]),
        onnx_model("Clip", [V(*X4), K(1.0), K(6.0)]),
        "min > 0",
    ),
    *dims6("34", "LeakyRelu"),
    *pair("35", "Identity", unary("Relu", X4), unary("Identity", X4), "individual"),
    *pair(
        "36",
        "DequantizeLinear",
        onnx_model("DequantizeLinear", [IV(1, 4, 8, 8), K(np.ones(4)), K(np.zeros(4), I64)], {"axis": 1}),
        onnx_model("DequantizeLinear", [IV(1, 8, 8, 4), K(np.ones(4)), K(np.zeros(4), I64)], {"axis": 3}),
        "axis",
    ),
    *pair(
        "37",
        "QuantizeLinear",
        onnx_model("QuantizeLinear", [V(1, 4, 8, 8), K(np.ones(4)), K(np.zeros(4), np.uint8)], {"axis": 1}),
        onnx_model("QuantizeLinear", [V(1, 8, 8, 4), K(np.ones(4)), K(np.zeros(4), np.uint8)], {"axis": 3}),
        "axis",
    ),
    *dims6("38", "Sqrt"),
    *dims6("40", "Pow", extra=[K(2.0)]),
    *pair("41", "Cast", unary("Cast", X4, to=1), _cast_between, "terminal"),
    *dims6("42", "Asin"),
    *dims6("43", "Asinh"),
    *dims6("44", "HardSwish"),
    *dims6("45", "Mish"),
    *dims6("46", "Log"),
    *pair(
        "47",
        "Unsqueeze",
        onnx_model("Unsqueeze", [V(2, 2, 2, 2, 2), K([0], I64)]),
        onnx_model("Unsqueeze", [V(*SIX), K([0], I64)]),
        "output dims",
    ),
    *dims6("48", "Abs"),
    *dims6("49", "Floor"),
    *dims6("50", "Exp"),
    *dims6("51", "Sin"),
    *pair(
        "52",
        "InstanceNormalization",
        onnx_model("InstanceNormalization", [V(1, 2, 2, 2, 2, 2), R(2), R(2)]),
        onnx_model("InstanceNormalization", [V(*SEVEN), R(2), R(2)]),
        "dims",
    ),
    *pair(
        "53",
        "SpaceToDepth",
        onnx_model("SpaceToDepth", [V(*X4)], {"blocksize": 2}),
        onnx_model("SpaceToDepth", [V(1, 4, 6, 6)], {"blocksize": 4}),
        "multiple of blocksize",
    ),
    *dims6("54", "Acos"),
    *dims6("55", "Atan"),
    *dims6("56", "Sinh"),
    *dims6("57", "Neg"),
    *dims6("58", "Cos"),
    *dims6("59", "Cosh"),
    *dims6("60", "Tan"),
    *pair(
        "fused 1 / 39",
        "ReduceMean",
        _layer_norm_pattern,
        onnx_model("ReduceMean", [V(*X4), K([1], I64)]),
        "layer norm",
    ),
    *pair("fused 2 / 35", "Erf", _gelu, unary("Erf", X4), "GELU"),
]


# --- TFLite --------------------------------------------------------------------------------------


def tflite_model(
    op: str,
    inputs: list[Spec],
    out_shapes: list[list[int]],
    options: tuple[str, dict[str, Any]] | None = None,
) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        import flatbuffers
        from ai_edge_litert import schema_py_generated as s

        model = s.ModelT()
        model.version = 3
        model.buffers = [s.BufferT()]
        tensors, graph_inputs, op_inputs = [], [], []
        for spec in inputs:
            if spec is None:
                op_inputs.append(-1)
                continue
            kind, value = spec
            t = s.TensorT()
            t.name = f"in{len(tensors)}".encode()
            if kind == "const":
                buffer = s.BufferT()
                buffer.data = np.frombuffer(value.tobytes(), np.uint8)
                model.buffers.append(buffer)
                t.buffer, t.shape = len(model.buffers) - 1, list(value.shape)
                t.type = {np.dtype(np.float32): s.TensorType.FLOAT32, np.dtype(np.int32): s.TensorType.INT32}[
                    value.dtype
                ]
            else:
                t.buffer, t.shape, t.type = (
                    0,
                    value,
                    s.TensorType.FLOAT32 if kind == "var" else s.TensorType.INT32,
                )
                graph_inputs.append(len(tensors))
            op_inputs.append(len(tensors))
            tensors.append(t)
        outputs = []
        for shape in out_shapes:
            t = s.TensorT()
            t.name, t.shape, t.type, t.buffer = f"out{len(outputs)}".encode(), shape, s.TensorType.FLOAT32, 0
            outputs.append(len(tensors))
            tensors.append(t)
        code = s.OperatorCodeT()
        code.builtinCode = getattr(s.BuiltinOperator, op)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = 1
        model.operatorCodes = [code]
        operator = s.OperatorT()
        operator.opcodeIndex, operator.inputs, operator.outputs = 0, op_inputs, outputs
        if options is not None:
            kind, fields = options
            operator.builtinOptionsType = getattr(s.BuiltinOptions, kind)
            operator.builtinOptions = getattr(s, kind + "T")()
            for key, value in fields.items():
                setattr(operator.builtinOptions, key, value)
        graph = s.SubGraphT()
        graph.tensors, graph.inputs, graph.outputs, graph.operators = (
            tensors,
            graph_inputs,
            outputs,
            [operator],
        )
        model.subgraphs = [graph]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        path.write_bytes(bytes(builder.Output()))
        return path

    return build


I32 = np.int32
N4 = [1, 8, 8, 4]


def tdims6(row: str, op: str) -> list[Case]:
    return pair(row, op, tflite_model(op, [V(*SIX)], [SIX]), tflite_model(op, [V(*SEVEN)], [SEVEN]))


def _tconv(w: list[int], stride: int, op: str = "CONV_2D", padding: int = 1) -> Callable[[Path], Path]:
    kind = "Conv2DOptions" if op == "CONV_2D" else "DepthwiseConv2DOptions"
    fields = {"padding": padding, "strideW": stride, "strideH": stride}
    if op != "CONV_2D":
        fields["depthMultiplier"] = 1
    return tflite_model(
        op, [V(*N4), R(*w), R(w[0] if op == "CONV_2D" else w[3])], [[1, 4, 4, 4]], (kind, fields)
    )


def _pool2d(op: str, x: list[Spec]) -> Callable[[Path], Path]:
    return tflite_model(
        op,
        x,
        [[1, 4, 4, 4]],
        ("Pool2DOptions", {"padding": 1, "strideW": 2, "strideH": 2, "filterWidth": 2, "filterHeight": 2}),
    )


TFLITE_CASES: list[Case] = [
    *pair("1", "CONV_2D", _tconv([4, 3, 3, 4], 2), _tconv([4, 9, 9, 4], 2), "kernel > 7 at stride 2"),
    *pair(
        "1",
        "DEPTHWISE_CONV_2D",
        _tconv([1, 3, 3, 4], 1, "DEPTHWISE_CONV_2D"),
        _tconv([1, 5, 5, 4], 1, "DEPTHWISE_CONV_2D"),
        "5x5s1",
    ),
    *pair(
        "2",
        "MAX_POOL_2D",
        _pool2d("MAX_POOL_2D", [V(*N4)]),
        _pool2d("MAX_POOL_2D", [R(*N4)]),
        "constant input",
    ),
    *pair(
        "2",
        "MEAN",
        tflite_model("MEAN", [V(*N4), K([1, 2], I32)], [[1, 1, 1, 4]]),
        tflite_model("MEAN", [V(2, 2, 2, 2, 4), K([1, 2], I32)], [[2, 1, 1, 2, 4]]),
        "dims",
    ),
    *tdims6("3", "RELU"),
    *pair(
        "4",
        "DIV",
        tflite_model("DIV", [V(*N4), V(*N4)], [N4]),
        tflite_model("DIV", [V(*SEVEN), V(*SEVEN)], [SEVEN]),
        "two variables",
    ),
    *pair(
        "4",
        "SUB",
        tflite_model("SUB", [V(*N4), R(4)], [N4]),
        tflite_model("SUB", [V(*N4), V(*N4)], [N4]),
        "two variables",
    ),
    *pair(
        "5",
        "FULLY_CONNECTED",
        tflite_model("FULLY_CONNECTED", [V(1, 8), R(4, 8), R(4)], [[1, 4]]),
        tflite_model("FULLY_CONNECTED", [V(2, 2, 2, 2, 8), R(4, 8), R(4)], [[16, 4]]),
        "dims",
    ),
    *tdims6("6", "SOFTMAX"),
    *pair(
        "7",
        "CONCATENATION",
        tflite_model(
            "CONCATENATION", [V(*N4), V(*N4)], [[1, 8, 8, 8]], ("ConcatenationOptions", {"axis": 3})
        ),
        tflite_model(
            "CONCATENATION", [V(*N4), V(*N4)], [[2, 8, 8, 4]], ("ConcatenationOptions", {"axis": 0})
        ),
        "batch",
    ),
    *pair(
        "8",
        "STRIDED_SLICE",
        tflite_model(
            "STRIDED_SLICE",
            [V(*N4), K([0, 0, 0, 0], I32), K([1, 8, 8, 4], I32), K([1, 2, 2, 1], I32)],
            [[1, 4, 4, 4]],
        ),
        tflite_model(
            "STRIDED_SLICE",
            [V(2, 8, 8, 4), K([0, 0, 0, 0], I32), K([1, 8, 8, 4], I32), K([1, 2, 2, 1], I32)],
            [[1, 4, 4, 4]],
        ),
        "batch 2",
    ),
    *pair(
        "9",
        "ARG_MAX",
        tflite_model("ARG_MAX", [V(*N4), K([3], I32)], [[1, 8, 8]]),
        tflite_model("ARG_MAX", [V(*N4), K([1], I32)], [[1, 8, 4]]),
        "axis",
    ),
    *pair(
        "10",
        "RESIZE_BILINEAR",
        tflite_model("RESIZE_BILINEAR", [V(*N4), K([16, 16], I32)], [[1, 16, 16, 4]]),
        tflite_model("RESIZE_BILINEAR", [V(2, 2, 2, 2, 4), K([16, 16], I32)], [[1, 16, 16, 4]]),
        "dims",
    ),
    *pair(
        "11",
        "DEPTH_TO_SPACE",
        tflite_model(
            "DEPTH_TO_SPACE", [V(1, 4, 4, 8)], [[1, 8, 8, 2]], ("DepthToSpaceOptions", {"blockSize": 2})
        ),
        tflite_model(
            "DEPTH_TO_SPACE", [V(1, 4, 4, 6)], [[1, 8, 8, 1]], ("DepthToSpaceOptions", {"blockSize": 2})
        ),
        "channels",
    ),
    *tdims6("12", "LOGISTIC"),
    *pair(
        "13",
        "PAD",
        tflite_model("PAD", [V(*N4), K([[0, 0], [1, 1], [1, 1], [0, 0]], I32)], [[1, 10, 10, 4]]),
        tflite_model("PAD", [V(*N4), K([[0, 0], [0, 0], [0, 0], [1, 1]], I32)], [[1, 8, 8, 6]]),
        "channel axis",
    ),
    *pair(
        "14",
        "QUANTIZE",
        tflite_model("QUANTIZE", [V(*N4)], [N4]),
        tflite_model("HARD_SWISH", [V(*N4)], [N4]),
        "unlisted HARD_SWISH",
    ),
    *pair(
        "15",
        "SQUEEZE",
        tflite_model("SQUEEZE", [V(*SEVEN)], [SEVEN]),
        tflite_model("MINIMUM", [V(*N4), R(1)], [N4]),
        "unlisted MINIMUM",
    ),
    *tdims6("16", "TANH"),
    *tdims6("17", "ELU"),
    *pair(
        "18",
        "RESHAPE",
        tflite_model("RESHAPE", [V(*N4), K([1, 256], I32)], [[1, 256]]),
        tflite_model("RESHAPE", [V(*N4), IV(2)], [[1, 256]]),
        "variable shape",
    ),
    *tdims6("19", "TRANSPOSE"),
    *tdims6("20", "LEAKY_RELU"),
    *pair(
        "21",
        "BATCH_TO_SPACE_ND",
        tflite_model(
            "BATCH_TO_SPACE_ND", [V(4, 4, 4, 1), K([2, 2], I32), K([[0, 0], [0, 0]], I32)], [[1, 8, 8, 1]]
        ),
        tflite_model(
            "TRANSPOSE_CONV",
            [K([1, 16, 16, 4], I32), R(4, 3, 3, 4), V(*N4)],
            [[1, 16, 16, 4]],
            ("TransposeConvOptions", {"padding": 0, "strideW": 2, "strideH": 2}),
        ),
        "unlisted TRANSPOSE_CONV",
    ),
    *pair(
        "22",
        "SPACE_TO_BATCH_ND",
        tflite_model("SPACE_TO_BATCH_ND", [V(*N4), K([2, 2], I32), K([[0, 0], [0, 0]], I32)], [[4, 4, 4, 4]]),
        tflite_model("RELU6", [V(*N4)], [N4]),
        "unlisted RELU6",
    ),
    *pair(
        "23",
        "PACK",
        tflite_model("PACK", [V(*N4), V(*N4)], [[2, 1, 8, 8, 4]], ("PackOptions", {"valuesCount": 2})),
        tflite_model("UNPACK", [V(2, 8, 8, 4)], [[8, 8, 4], [8, 8, 4]], ("UnpackOptions", {"num": 2})),
        "unlisted UNPACK",
    ),
    *pair(
        "24",
        "CAST",
        tflite_model("CAST", [V(*N4)], [N4]),
        tflite_model("GATHER", [V(1, 8), K([1, 2], I32)], [[1, 2]]),
        "unlisted GATHER",
    ),
    *pair(
        "25",
        "SPACE_TO_DEPTH",
        tflite_model("SPACE_TO_DEPTH", [V(*N4)], [[1, 4, 4, 16]], ("SpaceToDepthOptions", {"blockSize": 2})),
        tflite_model(
            "SPACE_TO_DEPTH", [V(1, 6, 6, 4)], [[1, 1, 1, 144]], ("SpaceToDepthOptions", {"blockSize": 4})
        ),
        "multiple of blocksize",
    ),
]

CASES = ONNX_CASES + TFLITE_CASES
