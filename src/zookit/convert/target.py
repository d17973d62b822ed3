"""Convert one recipe target: the format table's converter for the target's format and the source's kind
(``formats.FORMATS``), run on the prepared source. Conversion returns the model (bytes) and what the
manifest should say of it; it writes nothing under a final name and does not verify: the convert stage
(``pipeline.target``) and the quantization search (``quantize``) call conversion, then verification."""

from __future__ import annotations

from pathlib import Path

from zookit.convert.formats import Converted, converter
from zookit.errors import UsageError
from zookit.recipe import Recipe, Target
from zookit.reference import Prepared


def with_quantization(recipe: Recipe, target: Target, quant: str | None) -> Target:
    """The target as asked on the command line: --quant makes a TFLite target of that mode."""
    if quant is None or quant == target.quantization:
        return target
    if target.format != "tflite":
        raise UsageError(f"--quant applies to TFLite targets; {recipe.name}/{target.name} is {target.format}")
    return Target(
        name=f"tflite-{quant}",
        format="tflite",
        quantization=quant,
        io_dtype=target.io_dtype if quant in ("int8",) else "float32",
        per_channel=target.per_channel,
        calibration_samples=target.calibration_samples,
    )


def convert_model(prepared: Prepared, target: Target, images: Path | None, scratch: Path) -> Converted:
    """The target converted from the prepared source (``images``: calibration pictures of a quantized
    target; ``scratch``: a folder for temporary files). With an ONNX SSD's heads recorded."""
    made = converter(prepared, target)(prepared, target, images, scratch)
    if prepared.heads is not None:
        heads = prepared.heads
        made.extras["heads"] = {
            "box": [h.name for h in heads.boxes],
            "class": [h.name for h in heads.classes],
            "feature_maps": [[h.height, h.width] for h in heads.boxes],
            "priors": prepared.prior_counts,
            "total_boxes": heads.total_boxes,
            "classes_per_prior": heads.classes_per_prior,
        }
    return made
