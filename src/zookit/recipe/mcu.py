"""Recipe sections for microcontrollers and real samples (model.py imports them).

``mcu``: the TensorFlow Lite Micro deployer's settings (budgets, the arena margin, class labels).
``samples``: real input files among the recipe's sources (fetched and checksummed like any source), each
with a decoder for its kind, used for verification and, where the recipe says so, for calibration::

    samples:
      - file: normal_id_01_00000000_hist_librosa.bin     # one of the sources
        kind: raw-float32                                  # little-endian float32, no header
        shape: [200, 128]                                  # the clip: 200 frames x 128 log-mel bins
        window: {size: 5, stride: 1}                       # 196 inputs of 5 frames each
        use: [verification]
      - file: kws_input_data.cc
        kind: c-int8
        array: g_kws_inputs                                # int8 values of a C array, one sample each
        quantization: {scale: 0.5847029089927673, zero_point: 83}

Nothing here imports numpy or a framework; decoding is ``zookit.samples``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from zookit.recipe.names import FrozenModel, PositiveInt

_C_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Kb = Annotated[float, Field(gt=0, le=1 << 30)]


class Mcu(FrozenModel):
    """TensorFlow Lite Micro: every TFLite target with ``c_array: true`` is run under TFLM, measured and
    given firmware headers; these settings add budgets (a target over one fails with the figures)."""

    arena_limit_kb: Kb | None = Field(None, description="Fail when TFLM needs a larger tensor arena (KiB).")
    flash_limit_kb: Kb | None = Field(None, description="Fail when the model data is larger (KiB).")
    arena_margin: Annotated[float, Field(ge=0, le=4)] = Field(
        0.1,
        description="kTensorArenaSize in <array>_settings.h: the measured arena plus this share (0.1: 10%), "
        "rounded up to 16 bytes; a margin for another TFLM build's kernels (CMSIS-NN scratch buffers).",
    )
    labels: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="Class labels in output order, written to <array>_settings.h."
    )


class Window(FrozenModel):
    """Consecutive frames of a clip as one input: ``(frames - size) // stride + 1`` inputs."""

    size: PositiveInt
    stride: PositiveInt = 1


class Quant(FrozenModel):
    """How stored integers become the model's real input: ``real = (q - zero_point) * scale``."""

    scale: Annotated[float, Field(gt=0)]
    zero_point: Annotated[int, Field(ge=-128, le=255)]


SampleKind = Literal["raw-float32", "c-int8", "npy", "npz"]
SampleUse = Literal["verification", "calibration"]


class Sample(FrozenModel):
    file: str = Field(min_length=1, description="A source's file name (its save_as path when it has one).")
    kind: SampleKind = Field(
        description="raw-float32 (little-endian float32 values, no header: needs shape), c-int8 (the "
        "integers of a C array: needs array and quantization), npy or npz (one sample per leading row, or "
        "one array of the input's shape)."
    )
    shape: list[PositiveInt] | None = Field(
        None, description="raw-float32: the whole file's shape, e.g. [200, 128] (frames x bins)."
    )
    window: Window | None = Field(None, description="Slide over the first axis: one input per window.")
    array: str | None = Field(None, description="c-int8: the C array's name.")
    quantization: Quant | None = Field(None, description="c-int8: the integers' scale and zero point.")
    use: list[SampleUse] = Field(
        default_factory=lambda: list[SampleUse](["verification"]),
        min_length=1,
        description="verification (always useful), calibration (int8 targets calibrate on these samples).",
    )

    @model_validator(mode="after")
    def _check(self) -> Sample:
        if self.kind == "raw-float32" and self.shape is None:
            raise ValueError("shape: a raw-float32 file has no header, so its shape is required")
        if self.kind != "raw-float32" and self.shape is not None:
            raise ValueError(f"shape: only for raw-float32 files ({self.kind} files say their own shape)")
        if self.kind == "c-int8":
            if self.array is None or self.quantization is None:
                raise ValueError("array/quantization: a c-int8 sample names its C array and its quantization")
            if not _C_NAME.match(self.array):
                raise ValueError(f"array: {self.array!r} is not a C identifier")
        elif self.array is not None or self.quantization is not None:
            raise ValueError("array/quantization: only for c-int8 samples")
        if self.window is not None:
            if self.kind != "raw-float32":
                raise ValueError("window: only for raw-float32 clips")
            assert self.shape is not None
            if self.window.size > self.shape[0]:
                raise ValueError(
                    f"window.size: {self.window.size} frames is larger than the clip ({self.shape[0]} frames)"
                )
        if len(set(self.use)) != len(self.use):
            raise ValueError(f"use: listed twice in {self.use}")
        return self

    def sample_size(self) -> int | None:
        """Values in one decoded sample, when the recipe alone says it (raw-float32)."""
        if self.shape is None:
            return None
        frames = self.window.size if self.window else self.shape[0]
        size = frames
        for d in self.shape[1:]:
            size *= d
        return size


def mcu_problems(recipe: Any) -> list[str]:
    """Checks of the mcu and samples sections that need the whole recipe."""
    problems = []
    files = {s.dest for s in recipe.sources}
    for i, sample in enumerate(recipe.samples):
        if sample.file not in files:
            problems.append(
                f"samples[{i}].file: {sample.file!r} is not one of the source files ({', '.join(sorted(files))})"
            )
        size = sample.sample_size()
        if size is not None and len(recipe.inputs) == 1 and -1 not in recipe.inputs[0].shape:
            wanted = 1
            for d in recipe.inputs[0].shape:
                wanted *= d
            if size != wanted:
                problems.append(
                    f"samples[{i}]: one sample holds {size} values, the input {recipe.inputs[0].name} "
                    f"{recipe.inputs[0].shape} takes {wanted}"
                )
    if recipe.samples and len(recipe.inputs) != 1:
        problems.append(f"samples: real samples feed a single-input model; this one has {len(recipe.inputs)}")
    mcu = recipe.mcu
    if mcu is not None:
        if not any(t.c_array for t in recipe.targets):
            problems.append("mcu: no target has c_array: true, so nothing runs under TensorFlow Lite Micro")
        if mcu.labels and recipe.num_classes is not None and len(mcu.labels) != recipe.num_classes:
            problems.append(f"mcu.labels: {len(mcu.labels)} labels for num_classes {recipe.num_classes}")
    return problems
