"""The recipe's mixed-precision fields (kept apart from targets.py and tidl.py, which import them):
what `zoo diagnose --goal ... --write` writes back and a conversion or TIDL package then applies.

TFLite targets (``targets[i].keep_float``): the layers an int8 or int16x8 target keeps in float, by their
output tensor in the converted model (``nodes``) or by TFLite operator type (``ops``, e.g.
FULLY_CONNECTED). The converter calibrates once and quantizes with these left out (TensorFlow's MLIR
quantizer: the QuantizationDebugger's ``denylisted_nodes`` / ``denylisted_ops``).

TIDL packages (``tidl.output_feature_16bit_names``, ``tidl.params_16bit_names``): the layers TIDL runs
with 16-bit activations (and so parameters), or 16-bit parameters only, by their output tensor in the
packaged model; written under TI's option names (see deploy/tidl/options.py).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class KeepFloat(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nodes: list[str] = Field(
        default_factory=list,
        description="Output tensors (as named in the converted .tflite) of the layers kept in float.",
    )
    ops: list[str] = Field(
        default_factory=list,
        description="TFLite builtin operator types kept in float everywhere (CONV_2D, FULLY_CONNECTED...).",
    )

    def __bool__(self) -> bool:
        return bool(self.nodes or self.ops)


def keep_float_problem(quantization: str, fmt: str, keep: KeepFloat | None) -> str | None:
    """Why a target cannot have ``keep_float`` (None: it can)."""
    if keep and (fmt != "tflite" or quantization not in ("int8", "int16x8")):
        return "keep_float: only TFLite int8 and int16x8 targets keep layers in float"
    return None
