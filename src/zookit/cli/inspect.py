"""`zoo inspect FILE`: a model file's inputs and outputs, operator counts and likely trim points.

Reads a TF frozen graph (.pb), a SavedModel folder, a Keras model (.h5, .keras), a TFLite or an ONNX
file (zookit.modelinfo). With ``--json`` the same as one document.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from zookit.cli import path_arg


def add_parser(add: Any) -> None:
    p = add(
        "inspect",
        cmd_inspect,
        "a model file's inputs and outputs (shapes, dtypes), operator counts and likely trim points",
    )
    p.add_argument(
        "model",
        metavar="FILE",
        type=path_arg,
        help="a .pb frozen graph, a SavedModel folder, a .h5/.keras, .tflite or .onnx file",
    )
    p.add_argument("--json", action="store_true", help="print JSON")


def shape_text(shape: list[int] | None) -> str:
    return "unknown" if shape is None else "[" + ", ".join("?" if d == -1 else str(d) for d in shape) + "]"


def cmd_inspect(args: argparse.Namespace) -> int:
    from zookit.api import inspect
    from zookit.cli.common import libraries_quiet

    with libraries_quiet(args, str(args.model)):
        info = inspect(args.model)
    if args.json:
        print(json.dumps(info.as_dict(), indent=2))
        return 0
    print(f"{args.model}: {info.format}, {info.nodes} node(s) of {len(info.operators)} operator type(s)")
    if info.signature:
        print(f"signature: {info.signature}")
    for title, tensors in (("inputs", info.inputs), ("outputs", info.outputs)):
        print(f"{title}:")
        width = max((len(t.name) for t in tensors), default=0)
        for t in tensors:
            quant = ""
            if t.quantization:
                quant = f"  scale {t.quantization['scale']:.6g} zero point {t.quantization['zero_point']}"
            print(f"  {t.name:<{width}}  {t.dtype:<8} {shape_text(t.shape)}{quant}")
    print("operators:")
    width = max((len(op) for op in info.operators), default=0)
    for op, count in info.operators.items():
        print(f"  {op:<{width}}  {count:>5}")
    if info.trim_points:
        print("likely trim points (trim.outputs in a recipe):")
        for p in info.trim_points:
            print(f"  {p.tensor}  {shape_text(p.shape)}: {p.reason}")
    for title, facts in info.facts.items():
        print(f"{title}:")
        for key, value in facts.items():
            shown = value if not isinstance(value, dict) else ", ".join(f"{k} {v}" for k, v in value.items())
            print(f"  {key}: {shown}")
    for note in info.notes:
        print(f"note: {note}")
    print("('?' is a dimension the file leaves open)")
    return 0
