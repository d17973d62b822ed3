"""Small int8 TFLite models for the Ethos-U tests, written with the TFLite schema's object API (no
TensorFlow): a 2x2 max pool, which Vela places on the NPU, then SPACE_TO_DEPTH, which Vela 5.2 leaves on
the CPU ("Unsupported opType": it is not in Vela's Ethos-U55/U65 operator list, SUPPORTED_OPS.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT, POOLED, OUTPUT = "input", "pooled", "s2d"
SHAPE = [1, 8, 8, 4]
OUT_SHAPE = [1, 2, 2, 16]


def pool_then_space_to_depth(path: Path, dtype: str = "int8") -> Path:
    """input [1,8,8,4] -> MAX_POOL_2D 2x2/2 -> SPACE_TO_DEPTH 2 -> s2d [1,2,2,16] (``dtype``: int8, or
    float32 for a model that is not int8)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    kind = s.TensorType.INT8 if dtype == "int8" else s.TensorType.FLOAT32
    model = s.ModelT()
    model.version = 3
    model.buffers = [s.BufferT()]
    tensors = []
    for name, shape in ((INPUT, SHAPE), (POOLED, [1, 4, 4, 4]), (OUTPUT, OUT_SHAPE)):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), shape, kind, 0
        if dtype == "int8":
            q = s.QuantizationParametersT()
            q.scale, q.zeroPoint = [0.05], [0]
            t.quantization = q
        tensors.append(t)
    codes, operators = [], []
    for i, (op, options, fields) in enumerate(
        (
            (
                "MAX_POOL_2D",
                "Pool2DOptions",
                {"padding": 1, "strideW": 2, "strideH": 2, "filterWidth": 2, "filterHeight": 2},
            ),
            ("SPACE_TO_DEPTH", "SpaceToDepthOptions", {"blockSize": 2}),
        )
    ):
        code = s.OperatorCodeT()
        code.builtinCode = getattr(s.BuiltinOperator, op)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = 1 if dtype != "int8" else 2
        codes.append(code)
        operator = s.OperatorT()
        operator.opcodeIndex, operator.inputs, operator.outputs = i, [i], [i + 1]
        operator.builtinOptionsType = getattr(s.BuiltinOptions, options)
        operator.builtinOptions = getattr(s, options + "T")()
        for key, value in fields.items():
            setattr(operator.builtinOptions, key, value)
        operators.append(operator)
    model.operatorCodes = codes
    graph = s.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = tensors, [0], [2], operators
    graph.name = b"main"
    model.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(builder.Output()))
    return path


def run_litert(path: Path, x: np.ndarray) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
