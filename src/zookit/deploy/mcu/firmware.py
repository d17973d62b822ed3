"""Firmware files beside the C array: ``<array>_op_resolver.h`` (a ``tflite::MicroMutableOpResolver<N>``
with one ``Add...()`` call per op the model uses) and ``<array>_settings.h`` (input and output shapes,
scales and zero points, class labels, ``kTensorArenaSize``). Both live in a namespace named after the
array, so several models link into one firmware.
"""

from __future__ import annotations

import math
from typing import Any

from zookit.runtimes.tflm_footprint import ARENA_ROUNDING
from zookit.runtimes.tflm_ops import resolver_methods


def _guard(base: str, what: str) -> str:
    return f"ZOOKIT_{base.upper()}_{what.upper()}_H_"


def op_resolver_header(base: str, where: str, ops: dict[str, int]) -> str:
    methods = resolver_methods(ops)
    guard = _guard(base, "op_resolver")
    calls = "\n".join(
        f"  if (resolver.{m}() != kTfLiteOk) return kTfLiteError;  // {op} x{n}"
        for m, (op, n) in zip(methods, ops.items(), strict=True)
    )
    return (
        f"// {where}: the TensorFlow Lite Micro ops this model uses, written by zookit from the model's\n"
        f"// operator list ({sum(ops.values())} operators, {len(ops)} kinds).\n"
        f"#ifndef {guard}\n#define {guard}\n\n"
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"\n\n'
        f"namespace {base} {{\n\n"
        f"constexpr unsigned int kOpCount = {len(ops)};\n"
        f"using OpResolver = tflite::MicroMutableOpResolver<kOpCount>;\n\n"
        "// Registers every op of the model: kTfLiteOk when all were added.\n"
        "inline TfLiteStatus RegisterOps(OpResolver& resolver) {\n"
        f"{calls}\n  return kTfLiteOk;\n}}\n\n"
        f"}}  // namespace {base}\n\n#endif  // {guard}\n"
    )


def _c_float(value: float) -> str:
    text = repr(float(value))
    return (text if ("." in text or "e" in text) else text + ".0") + "f"


def _c_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if 32 <= ord(c) < 127 else f'\\x{ord(c):02x}""' for c in escaped) + '"'


def _tensors(kind: str, tensors: list[dict[str, Any]]) -> str:
    lines = [f"constexpr int k{kind}Count = {len(tensors)};"]
    for i, t in enumerate(tensors):
        name = f"k{kind}{i}"
        dims = ", ".join(str(d) for d in t["shape"])
        elements = math.prod(t["shape"]) if t["shape"] else 1
        lines += [
            f"// {kind.lower()} {i}: {t['name']} ({t['dtype']}); real = (q - zero_point) * scale",
            f"constexpr int {name}Dims[] = {{{dims}}};",
            f"constexpr int {name}DimsCount = {len(t['shape'])};",
            f"constexpr int {name}Elements = {elements};",
            f"constexpr float {name}Scale = {_c_float(t['scale'])};",
            f"constexpr int {name}ZeroPoint = {int(t['zero_point'])};",
        ]
    return "\n".join(lines)


def settings_header(
    base: str, where: str, tensors: dict[str, Any], arena: dict[str, Any], labels: list[str]
) -> str:
    guard = _guard(base, "settings")
    label_lines = ""
    if labels:
        items = ", ".join(_c_string(label) for label in labels)
        label_lines = (
            f"\nconstexpr int kCategoryCount = {len(labels)};\n"
            f"constexpr const char* kCategoryLabels[kCategoryCount] = {{{items}}};\n"
        )
    return (
        f"// {where}: what firmware needs to run this model under TensorFlow Lite Micro, written by zookit.\n"
        f"#ifndef {guard}\n#define {guard}\n\n"
        f"namespace {base} {{\n\n"
        f"// The smallest arena in which TFLM allocated this model: {arena['measured']} bytes (bisection over\n"
        "// the arena size, TFLM's own AllocateTensors), plus a margin of "
        f"{arena['margin']:g} (recipe mcu.arena_margin),\n// rounded up to {ARENA_ROUNDING} bytes. "
        "Declare the arena alignas(16).\n"
        f"constexpr unsigned int kTensorArenaSize = {arena['size']};\n"
        f"constexpr unsigned int kTensorArenaMeasured = {arena['measured']};\n\n"
        f"{_tensors('Input', tensors['inputs'])}\n\n{_tensors('Output', tensors['outputs'])}\n"
        f"{label_lines}\n}}  // namespace {base}\n\n#endif  // {guard}\n"
    )
