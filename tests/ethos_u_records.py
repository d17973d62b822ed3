"""Real Ethos-U package records for the report's tests: int8 TFLite models compiled by Arm's Vela
(``ethos-u-vela``) through the ``ethos_u`` deployer's own compile (``zookit.vela.compile_for``) and record
(``package_record``): a tiny int8 model written here with the TFLite schema (a 3x3 convolution that the NPU
runs, then a FLOOR that Vela leaves on the CPU), or MLPerf Tiny's genuine int8 files.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

# name of a configuration -> (accelerator, system configuration, memory mode) of Vela's own Arm/vela.ini
CONFIGS = {
    "u55-128": ("ethos-u55-128", "Ethos_U55_High_End_Embedded", "Shared_Sram"),
    "u65-256": ("ethos-u65-256", "Ethos_U65_High_End", "Dedicated_Sram"),
}
CONFIG_FILE = "Arm/vela.ini"


def vela() -> str | None:
    """The ``vela`` command of this Python's environment (None when ethos-u-vela is not installed)."""
    return shutil.which("vela", path=str(Path(sys.executable).parent)) or shutil.which("vela")


def tiny_int8_model(path: Path, cpu_op: str = "FLOOR") -> Path:
    """An int8 TFLite model, input [1,16,16,4]: CONV_2D 3x3 to 8 channels with ReLU (on the NPU), then
    ``cpu_op`` (FLOOR: an operator type Vela does not place on the NPU)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT()
    model.version, model.buffers = 3, [s.BufferT()]

    def const(array: np.ndarray) -> int:
        buffer = s.BufferT()
        buffer.data = np.frombuffer(array.tobytes(), np.uint8)
        model.buffers.append(buffer)
        return len(model.buffers) - 1

    def tensor(name: str, shape: list[int], kind: int, buffer: int = 0, scale: float = 0.05) -> Any:
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), shape, kind, buffer
        t.quantization = s.QuantizationParametersT()
        t.quantization.scale, t.quantization.zeroPoint = [scale], [0]
        return t

    rng = np.random.default_rng(0)
    weights = rng.integers(-100, 100, (8, 3, 3, 4)).astype(np.int8)
    bias = rng.integers(-500, 500, (8,)).astype(np.int32)
    int8, int32 = s.TensorType.INT8, s.TensorType.INT32
    tensors = [
        tensor("input", [1, 16, 16, 4], int8),
        tensor("conv/weights", [8, 3, 3, 4], int8, const(weights), 0.01),
        tensor("conv/bias", [8], int32, const(bias), 0.0005),
        tensor("conv/relu", [1, 16, 16, 8], int8, 0, 0.1),
        tensor("output", [1, 16, 16, 8], int8, 0, 0.1),
    ]
    codes, operators = [], []
    for op, inputs, outputs in (("CONV_2D", [0, 1, 2], [3]), (cpu_op, [3], [4])):
        code = s.OperatorCodeT()
        code.builtinCode = getattr(s.BuiltinOperator, op)
        code.deprecatedBuiltinCode, code.version = min(code.builtinCode, 127), 1
        codes.append(code)
        operator = s.OperatorT()
        operator.opcodeIndex, operator.inputs, operator.outputs = len(codes) - 1, inputs, outputs
        operators.append(operator)
    operators[0].builtinOptionsType = s.BuiltinOptions.Conv2DOptions
    operators[0].builtinOptions = s.Conv2DOptionsT()
    operators[0].builtinOptions.padding, operators[0].builtinOptions.fusedActivationFunction = 0, 1
    operators[0].builtinOptions.strideW = operators[0].builtinOptions.strideH = 1
    graph = s.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = tensors, [0], [4], operators
    model.operatorCodes, model.subgraphs = codes, [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))
    return path


def write_record(
    model: Path, folder: Path, config: str, budgets: dict[str, float | None] | None = None
) -> dict[str, Any]:
    """Compile ``model`` for ``config`` (a name of CONFIGS) into ``folder/vela`` and write the package record
    ``folder/ethos_u.json`` as the ``ethos_u`` deployer does (its own compile and record functions; the
    budgets are recorded, not enforced, so a record over them can be shown)."""
    from zookit.deploy.ethos_u.package import package_record
    from zookit.fsutil import write_json
    from zookit.recipe.ethos_u import Budgets
    from zookit.vela import EthosUConfig, compile_for

    accelerator, system_config, memory_mode = CONFIGS[config]
    vela_config = EthosUConfig(accelerator, system_config, memory_mode, None, "Performance")
    out = folder / "vela"
    result = compile_for(model, vela_config, out)
    limits = Budgets(**budgets) if budgets else None
    record = package_record(result, vela_config, folder.parent.parent.name, limits, out, None)
    write_json(folder / "ethos_u.json", record)
    return record
