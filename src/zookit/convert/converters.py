"""The convert stage: a trimmed TF graph to TFLite (TensorFlow's converter) or ONNX (tf2onnx).

Each quantization mode is one small function that sets the converter's options; the table
QUANTIZERS maps the recipe's names to them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import ConversionError
from zookit.libs import load
from zookit.ports import Port
from zookit.recipe import Target

log = logging.getLogger(__name__)
Samples = Callable[[], Iterator[list[np.ndarray]]]


def _float16(conv: Any, tf: Any, target: Target, samples: Samples | None) -> None:
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]


def _dynamic_range(conv: Any, tf: Any, target: Target, samples: Samples | None) -> None:
    conv.optimizations = [tf.lite.Optimize.DEFAULT]


def _int8(conv: Any, tf: Any, target: Target, samples: Samples | None) -> None:
    _full_integer(conv, tf, target, samples, tf.lite.OpsSet.TFLITE_BUILTINS_INT8)


def _int16x8(conv: Any, tf: Any, target: Target, samples: Samples | None) -> None:
    ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    _full_integer(conv, tf, target, samples, ops)


def _full_integer(conv: Any, tf: Any, target: Target, samples: Samples | None, ops: Any) -> None:
    if samples is None:
        raise ConversionError(f"target {target.name}: full-integer quantization needs calibration samples")
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = samples
    conv.target_spec.supported_ops = [ops]
    io = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8, "int16": tf.int16}[target.io_dtype]
    conv.inference_input_type = io
    conv.inference_output_type = io


QUANTIZERS: dict[str, Callable[[Any, Any, Target, Samples | None], None]] = {
    "float32": lambda conv, tf, target, samples: None,
    "float16": _float16,
    "dynamic-range": _dynamic_range,
    "int8": _int8,
    "int16x8": _int16x8,
}


def tflite_options(target: Target, allow_custom_ops: bool) -> dict[str, Any]:
    """The converter options a target means, as recorded in the manifest."""
    return {
        "converter": "tf.compat.v1.lite.TFLiteConverter.from_frozen_graph",
        "quantization": target.quantization,
        "io_dtype": target.io_dtype,
        "per_channel": target.per_channel,
        **({"per_channel_dense": False} if not target.per_channel_dense else {}),
        "allow_custom_ops": allow_custom_ops,
        **({"keep_float": target.keep_float.model_dump()} if target.keep_float else {}),
        "calibration_samples": target.calibration_samples
        if target.quantization in ("int8", "int16x8")
        else 0,
    }


def to_tflite(
    graph_path: Path,
    inputs: list[Port],
    outputs: list[Port],
    target: Target,
    allow_custom_ops: bool,
    samples: Samples | None,
) -> bytes:
    """Convert a frozen graph file with TensorFlow's converter and the target's quantization; a target
    keeping layers in float (keep_float) is calibrated, then quantized without them."""
    if target.keep_float and target.quantization in ("int8", "int16x8"):
        calibrated = calibrated_tflite(graph_path, inputs, outputs, target, allow_custom_ops, samples)
        return quantize_calibrated(calibrated, target, target.keep_float.nodes, target.keep_float.ops)
    conv = _converter(graph_path, inputs, outputs, target, allow_custom_ops, samples)
    return _convert(conv, target)


def calibrated_tflite(
    graph_path: Path,
    inputs: list[Port],
    outputs: list[Port],
    target: Target,
    allow_custom_ops: bool,
    samples: Samples | None,
) -> bytes:
    """The float model with the calibration statistics of an int8/int16x8 target (what TensorFlow's
    QuantizationDebugger quantizes from): calibrated once, quantized as often as a search asks."""
    conv = _converter(graph_path, inputs, outputs, target, allow_custom_ops, samples)
    conv._experimental_calibrate_only = True
    return _convert(conv, target)


def quantize_calibrated(calibrated: bytes, target: Target, nodes: list[str], ops: list[str]) -> bytes:
    """A calibrated model quantized as the target says, with the layers writing ``nodes`` (output tensor
    names) and every op of the types ``ops`` (TFLite builtin names) left in float: TensorFlow's MLIR
    quantizer, as QuantizationDebugger.get_nondebug_quantized_model() calls it with
    QuantizationDebugOptions(denylisted_nodes=..., denylisted_ops=...)."""
    tf = load("tensorflow")
    from tensorflow.compiler.mlir.lite import types_pb2
    from tensorflow.lite.python import convert as tflite_convert

    sixteen = target.quantization == "int16x8"
    io = {"float32": tf.float32, "int8": tf.int8, "uint8": tf.uint8, "int16": tf.int16}[target.io_dtype]
    try:
        result: bytes = tflite_convert.mlir_quantize(
            calibrated,
            disable_per_channel=not target.per_channel,
            disable_per_channel_for_dense_layers=not target.per_channel_dense,
            inference_type=types_pb2.QUANTIZED_INT16 if sixteen else types_pb2.QUANTIZED_INT8,
            input_data_type=io,
            output_data_type=io,
            denylisted_ops=list(ops) or None,
            denylisted_nodes=list(nodes) or None,
        )
    except Exception as exc:  # the quantizer raises its own kinds
        first = str(exc).strip().splitlines()
        raise ConversionError(
            f"target {target.name}: the TFLite quantizer failed: {' '.join(first[:3])}"
        ) from None
    return result


def _converter(
    graph_path: Path,
    inputs: list[Port],
    outputs: list[Port],
    target: Target,
    allow_custom_ops: bool,
    samples: Samples | None,
) -> Any:
    tf = load("tensorflow")

    conv = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        str(graph_path),
        input_arrays=[p.name for p in inputs],
        output_arrays=[p.name for p in outputs],
        input_shapes={p.name: list(p.shape) for p in inputs},
    )
    conv.allow_custom_ops = allow_custom_ops
    QUANTIZERS[target.quantization](conv, tf, target, samples)
    if not target.per_channel:
        # No public switch exists; this converter attribute turns per-channel weights into per-tensor.
        conv._experimental_disable_per_channel = True
    if not target.per_channel_dense:  # the same kind of switch, for FULLY_CONNECTED weights only
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv


def _convert(conv: Any, target: Target) -> bytes:
    try:
        result: bytes = conv.convert()
    except Exception as exc:  # the converter raises ConverterError, ValueError and friends
        first = str(exc).strip().splitlines()
        raise ConversionError(
            f"target {target.name}: the TFLite converter failed: {' '.join(first[:3])}"
        ) from None
    return result


def onnx_options(target: Target) -> dict[str, Any]:
    return {
        "converter": "tf2onnx.convert.from_graph_def",
        "opset": target.opset or 13,
        "inputs_as_nchw": target.inputs_as_nchw,
        "optimizer_errors": "raise",
    }


def to_onnx(graph_def: Any, inputs: list[Port], outputs: list[Port], target: Target) -> bytes:
    """Convert a trimmed graph with tf2onnx at the target's opset, then check it."""
    tf2onnx = load("tf2onnx")
    nchw = [f"{p.name}:0" for p in inputs] if target.inputs_as_nchw else None
    return _tf2onnx(
        target,
        lambda: tf2onnx.convert.from_graph_def(
            graph_def,
            input_names=[f"{p.name}:0" for p in inputs],
            output_names=[f"{p.name}:0" for p in outputs],
            opset=target.opset or 13,
            inputs_as_nchw=nchw,
        ),
    )


def tflite_to_onnx(path: Path, target: Target) -> bytes:
    """A TFLite model to ONNX with tf2onnx's TFLite reader: quantized tensors become
    QuantizeLinear/DequantizeLinear pairs, int8 inputs and outputs stay int8."""
    tf2onnx = load("tf2onnx")
    if target.inputs_as_nchw:
        raise ConversionError(f"target {target.name}: inputs_as_nchw is not offered for a TFLite source")
    return _tf2onnx(target, lambda: tf2onnx.convert.from_tflite(str(path), opset=target.opset or 13))


def _tf2onnx(target: Target, run: Callable[[], Any]) -> bytes:
    import onnx

    # By default tf2onnx deep-copies the graph before every optimizer pass so that it can skip a pass
    # that fails, quietly keeping a less optimised model. zookit would rather stop with the error, and
    # the copies cost seconds on a large graph (2.5 s of 5.6 s on SSD-MobileNet). tf2onnx turns that
    # off when this variable is set (it reads only whether it is set).
    preset = "TF2ONNX_CATCH_ERRORS" in os.environ
    os.environ.setdefault("TF2ONNX_CATCH_ERRORS", "FALSE")
    try:
        model, _ = run()
        onnx.checker.check_model(model)
    except Exception as exc:  # tf2onnx raises many kinds
        raise ConversionError(
            f"target {target.name}: tf2onnx failed: {str(exc).splitlines()[0][:300]}"
        ) from None
    finally:
        if not preset:
            del os.environ["TF2ONNX_CATCH_ERRORS"]
    data: bytes = model.SerializeToString()
    return data


def write_graph_def(graph_def: Any, folder: Path) -> Path:
    """A frozen graph written to a fresh temporary file in ``folder`` (the caller removes it)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".trimmed-", suffix=".pb", dir=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(graph_def.SerializeToString())
    return Path(name)
