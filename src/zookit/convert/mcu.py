"""Facts about a TFLite file, and the MCU output: the model as a C array for TensorFlow Lite Micro.

``c_array`` writes what people hand-roll with ``xxd -i``: a ``.cc`` holding the bytes (16-byte aligned,
as TFLite Micro needs to read the flatbuffer in place), a ``.h`` declaring them with an include guard,
and a JSON sidecar with each input's and output's dtype, shape, scale and zero point: what firmware
needs to quantize its inputs and dequantize its outputs.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import ConversionError
from zookit.fsutil import write_bytes, write_json
from zookit.libs import load
from zookit.recipe import Recipe, Target

BYTES_PER_LINE = 12


def _interpreter(model: bytes) -> Any:
    Interpreter = load("ai_edge_litert.interpreter").Interpreter
    try:
        interpreter = Interpreter(model_content=model)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ConversionError(f"LiteRT cannot load the TFLite model: {exc}") from None
    return interpreter


def file_quantization(interpreter: Any) -> str:
    """What a TFLite file is, in the recipe's words: int8 or int16x8 when its operators compute on
    integers, dynamic-range when integer weights feed float operators, float16, else float32."""
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # LiteRT's only listing of which tensor each operator writes
    written = {np.dtype(tensors[i]["dtype"]).name for op in ops for i in op["outputs"] if i in tensors}
    every = {np.dtype(d["dtype"]).name for d in tensors.values()}
    if "int16" in written and "int8" in every:
        return "int16x8"
    computing = {op["op_name"] for op in ops if op["op_name"] not in ("QUANTIZE", "DEQUANTIZE")}
    if computing and all(
        np.dtype(tensors[op["outputs"][0]]["dtype"]).name in ("int8", "uint8")
        for op in ops
        if op["op_name"] in computing and op["outputs"] and op["outputs"][0] in tensors
    ):
        return "int8"
    if "float16" in every:
        return "float16"
    if "int8" in every:
        return "dynamic-range"
    return "float32"


def tflite_facts(model: bytes, target: Target, recipe: Recipe) -> dict[str, Any]:
    """Check that a TFLite source is what the target says it is (a target made from a TFLite source is the
    file as it is: its quantization and I/O type describe the file); return the facts for the manifest."""
    interpreter = _interpreter(model)
    quantization = file_quantization(interpreter)
    io = np.dtype(interpreter.get_input_details()[0]["dtype"]).name
    if quantization != target.quantization or io != target.io_dtype:
        raise ConversionError(
            f"{recipe.name}/{target.name}: the source TFLite file is {quantization} with {io} inputs, but the "
            f"target says quantization {target.quantization}, io_dtype {target.io_dtype}: a TFLite source is "
            "packaged as it is, so set them to what the file is"
        )
    return {"quantization": quantization, "io_dtype": io}


def tensor_facts(model: bytes) -> dict[str, Any]:
    """Each input and output: name, dtype, shape, and the quantization firmware applies at the boundary
    (``real = (q - zero_point) * scale``); per-channel parameters listed when there are several."""
    interpreter = _interpreter(model)

    def record(detail: dict[str, Any]) -> dict[str, Any]:
        params = detail.get("quantization_parameters", {})
        scales = [float(v) for v in params.get("scales", [])]
        zeros = [int(v) for v in params.get("zero_points", [])]
        scale, zero = detail["quantization"]
        out: dict[str, Any] = {
            "name": detail["name"],
            "dtype": np.dtype(detail["dtype"]).name,
            "shape": [int(d) for d in detail["shape"]],
            "scale": float(scale),
            "zero_point": int(zero),
        }
        if len(scales) > 1:
            out |= {
                "scales": scales,
                "zero_points": zeros,
                "quantized_dimension": params.get("quantized_dimension"),
            }
        return out

    return {
        "inputs": [record(d) for d in interpreter.get_input_details()],
        "outputs": [record(d) for d in interpreter.get_output_details()],
        "note": "real value = (quantized value - zero_point) * scale; scale 0 means the tensor is not quantized",
    }


def c_identifier(text: str) -> str:
    name = re.sub(r"[^0-9A-Za-z_]", "_", text)
    return f"m_{name}" if name[:1].isdigit() else name


def model_array(model: bytes, out_dir: Path, base: str, what: str, alignment_note: str) -> str:
    """Write ``<base>_model_data.cc/.h``: ``model`` as a 16-byte aligned C array (``what`` names the model
    in the header's comment, ``alignment_note`` says who reads it in place); return the array's name."""
    name = f"{c_identifier(base)}_model_data"
    guard = f"ZOOKIT_{name.upper()}_H_"
    header = (
        f"// {base}: {what}, written by zookit.\n"
        f"#ifndef {guard}\n#define {guard}\n\n"
        f"extern const unsigned char {name}[];\nextern const unsigned int {name}_len;\n\n#endif  // {guard}\n"
    )
    lines = []
    for start in range(0, len(model), BYTES_PER_LINE):
        chunk = model[start : start + BYTES_PER_LINE]
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in chunk) + ",")
    source = (
        f'#include "{name}.h"\n\n'
        f"// 16-byte aligned: {alignment_note}.\n"
        f"alignas(16) const unsigned char {name}[] = {{\n" + "\n".join(lines) + "\n};\n"
        f"const unsigned int {name}_len = {len(model)};\n"
    )
    write_bytes(out_dir / f"{name}.h", header.encode())
    write_bytes(out_dir / f"{name}.cc", source.encode())
    return name


def c_array(model: bytes, out_dir: Path, base: str) -> dict[str, Any]:
    """Write ``<base>_model_data.cc/.h`` and ``<base>_tensors.json`` into ``out_dir``; return the record."""
    name = model_array(
        model,
        out_dir,
        base,
        "a TFLite model for TensorFlow Lite Micro",
        "TFLite Micro reads the flatbuffer in place",
    )
    sidecar = {
        "array": name,
        "length": len(model),
        "sha256": hashlib.sha256(model).hexdigest(),
        **tensor_facts(model),
    }
    write_json(out_dir / f"{c_identifier(base)}_tensors.json", sidecar)
    return {
        "source": f"{name}.cc",
        "header": f"{name}.h",
        "tensors": f"{c_identifier(base)}_tensors.json",
        "array": name,
    }
