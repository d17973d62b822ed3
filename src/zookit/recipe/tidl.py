"""The recipe's ``tidl`` section (model.py imports it): what TI's TIDL import is
given, and the checks that need the recipe's targets (which target TIDL imports, and whether each
operator of the deny list is one that target's format knows).

Operator names are checked against the operator set of the tidl target's format, from the libraries
that define it (TFLite's BuiltinOperator enum from ai_edge_litert, ONNX's operator schemas from onnx),
never a hand-written table. Both come with the ``convert`` extra; without it the names are checked when
the package is written (which needs the extra anyway, to convert the model first).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import Field

from zookit.recipe.names import FrozenModel, Name, PositiveInt


class Tidl(FrozenModel):
    target: Name = Field(description="The recipe target whose file TIDL imports.")
    tensor_bits: Literal[8, 16] = 8
    # TI's values: edgeai-tidl-tools 11_00_06_00 examples/osrt_python/README.md:125 (2 is new there: tools
    # up to 10.1 refuse it, see package notes)
    accuracy_level: Literal[0, 1, 2, 9] = Field(
        1,
        description="TI's calibration accuracy level: 0 basic, 1 advanced bias calibration, 2 min/max "
        "calibration across the calibration frames (TI's tools 11.0 and newer), 9 user-defined "
        "(TI's compile step rejects every other value).",
    )
    calibration_frames: PositiveInt = 20
    calibration_iterations: PositiveInt = 50
    post_proc_type: Literal["none", "classification", "detection", "segmentation"] = "none"
    meta_arch_type: Annotated[int, Field(ge=-1, le=9)] | None = None
    deny_list_layer_types: list[str] = Field(
        default_factory=list,
        description="Operators TIDL leaves to ARM: TFLite builtin operator names (CONV_2D, MEAN; written "
        "as the operator codes TI's TFLite delegate takes) for a TFLite tidl target, ONNX operator types "
        "(MaxPool) for an ONNX one.",
    )
    label_offset: int = 0
    # mixed precision (quant.py): output tensors of the packaged model, in TI's option names
    output_feature_16bit_names: list[str] = Field(
        default_factory=list,
        description="Layers (output tensors of the packaged model) TIDL runs with 16-bit activations and "
        "parameters: advanced_options:output_feature_16bit_names_list / outputFeature16bitNamesList.",
    )
    params_16bit_names: list[str] = Field(
        default_factory=list,
        description="Layers (output tensors of the packaged model) whose parameters alone are 16-bit: "
        "advanced_options:params_16bit_names_list / params16bitNamesList.",
    )


# --- checks that need the targets -------------------------------------------------------------------


def tidl_problems(recipe: Any) -> list[str]:
    """The tidl section's problems that only the whole recipe shows, each naming its field."""
    tidl = recipe.tidl
    if tidl is None:
        return []
    formats = {t.name: t.format for t in recipe.targets}
    if tidl.target not in formats:
        return [f"tidl.target: {tidl.target!r} is not one of the targets ({', '.join(formats)})"]
    return deny_list_problems(tidl.deny_list_layer_types, formats[tidl.target])


def deny_list_problems(names: list[str], fmt: str) -> list[str]:
    if not names:  # nothing to look up: the operator tables (onnx, LiteRT) stay unimported
        return []
    known = operator_names(fmt)
    if known is None:  # the library is not installed: checked when the package is written
        return []
    kind = OPERATOR_KINDS[fmt]
    problems = []
    for i, name in enumerate(names):
        if name not in known:
            hint = _close(name, known)
            problems.append(
                f"tidl.deny_list_layer_types[{i}]: {name!r} is not {kind} (the tidl target is {fmt})"
                + (f"; did you mean {hint!r}?" if hint else "")
            )
    return problems


OPERATOR_KINDS = {"tflite": "a TFLite builtin operator", "onnx": "an ONNX operator type"}


def operator_names(fmt: str) -> set[str] | None:
    """The operator names a deny list of a ``fmt`` model may hold; None when the library defining them is
    not installed."""
    try:
        return set(tflite_operator_codes()) if fmt == "tflite" else onnx_operator_types()
    except ImportError:
        return None


def tflite_operator_codes() -> dict[str, int]:
    """TFLite's builtin operators, name -> code: the codes TI's deny_list:layer_type takes for TFLite
    models (edgeai-tidl-tools 11_00_06_00 examples/osrt_python/README.md:141, "registration code as
    specified in tflite builtin ops")."""
    from ai_edge_litert.schema_py_generated import BuiltinOperator

    return {k: v for k, v in vars(BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def onnx_operator_types() -> set[str]:
    """The ONNX operator types of the default domain (README.md:142: ONNX models take operator names)."""
    import onnx.defs

    return {s.name for s in onnx.defs.get_all_schemas() if s.domain in ("", "ai.onnx")}


def _close(name: str, known: set[str]) -> str | None:
    """The known name closest to ``name``, ignoring case (mean -> MEAN, maxpool -> MaxPool)."""
    by_lower = {k.lower(): k for k in known}
    hit = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return by_lower[hit[0]] if hit else None
