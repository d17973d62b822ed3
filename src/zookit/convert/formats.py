"""The format table: for each target format, its file suffix and the converter from each kind of source.
(How a converted file runs on this machine is the runtimes' business: ``runtimes.host.HOST_RUNNERS``.)

A converter takes the prepared source, the target, the images (calibration, when the target is
quantized) and the target's folder (for scratch files), and returns the model's bytes, the options it
was made with (recorded in the manifest), the outputs it has and anything else the manifest should
hold. The conversion code itself is in ``converters``; TensorFlow and the ONNX tools are imported
only when a converter runs. Adding a target format is one entry here (and its name in the recipe's
``Target.format``), and its host runner in ``runtimes.host``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zookit.convert import ssd
from zookit.errors import ConversionError
from zookit.ports import POSTPROCESS_OP, Port, declared_ports, postprocess_outputs
from zookit.recipe import Target
from zookit.reference import Prepared


@dataclass
class Converted:
    model: bytes
    options: dict[str, Any]
    outputs: list[Port]  # the converted model's outputs (a post-process op changes them)
    extras: dict[str, Any] = field(default_factory=dict)  # manifest entries besides the usual


Converter = Callable[[Prepared, Target, Path | None, Path], Converted]


@dataclass(frozen=True)
class Format:
    suffix: str
    converters: dict[str, Converter]  # by source kind (convert.prepare.SOURCES)


# --- TFLite ---------------------------------------------------------------------------------------


def tflite_as_is(prepared: Prepared, target: Target, images: Path | None, out_dir: Path) -> Converted:
    """A TFLite source is the target: packaged as it is, its quantization checked against the target."""
    from zookit.convert.mcu import tflite_facts

    assert prepared.tflite_model is not None
    if target.postprocess:
        return _tflite_detections(prepared, target)
    facts = tflite_facts(prepared.tflite_model, target, prepared.recipe)
    options = {"converter": "none: the source TFLite file as it is", **facts}
    return Converted(prepared.tflite_model, options, prepared.outputs)


def _tflite_detections(prepared: Prepared, target: Target) -> Converted:
    """A TFLite SSD cut before its post-process: the file as released (as_released), or its heads with
    zookit's anchors and post-process op, after checking zookit's anchors against the file's."""
    from zookit.convert import tflite_postprocess as tp

    recipe, where = prepared.recipe, f"{prepared.recipe.name}/{target.name}"
    if prepared.whole_tflite is None:
        raise ConversionError(f"{where}: postprocess needs a TFLite source cut at its heads (trim.outputs)")
    anchors = tp.recipe_anchors(recipe)
    check = tp.check_file_anchors(prepared.whole_tflite, anchors, where)
    if target.as_released:
        released = {"converter": "none: the source TFLite file as released, with its own post-process"}
        return Converted(prepared.whole_tflite, released, postprocess_outputs(recipe), {"anchors": check})
    model = tp.attach_postprocess(prepared.tflite_model or b"", recipe, anchors, where)
    record = {"op": POSTPROCESS_OP, "anchors": len(anchors), **tp.postprocess_options(recipe)}
    options: dict[str, Any] = {
        "converter": "zookit: the heads with zookit's anchors and TFLite_Detection_PostProcess",
        "postprocess": record,
    }
    return Converted(model, options, postprocess_outputs(recipe), {"postprocess": record, "anchors": check})


def tflite_from_graph(prepared: Prepared, target: Target, images: Path | None, out_dir: Path) -> Converted:
    """TensorFlow's TFLite converter on the trimmed graph; int8/int16x8 calibrated on the images."""
    from zookit.convert import converters
    from zookit.data import calibration_samples, takes_pictures

    recipe, inputs = prepared.recipe, prepared.inputs
    allow_custom = recipe.custom_ops.allow
    graph_def, outputs = prepared.graph_def, prepared.outputs
    extras: dict[str, Any] = {}
    options = converters.tflite_options(target, allow_custom)
    if target.postprocess:
        graph_def, outputs, extras = _with_postprocess(prepared, target)
        options["postprocess"] = extras["postprocess"]
    samples = None
    if target.quantization in ("int8", "int16x8"):
        if prepared.labelled is not None:  # the labelled set's calibration part (never judged on)
            from zookit.datasets.calibration import calibration_digest, labelled_calibration

            data, options["calibration"] = labelled_calibration(prepared, target.calibration_samples)
            options["calibration_set"] = calibration_digest(prepared)
        else:
            split = target.calibration_pictures == "split"
            data = calibration_samples(
                recipe, inputs, target.calibration_samples, images, prepared.folder, split
            )
            if not takes_pictures(recipe, inputs):
                from zookit.datasets.calibration import non_picture_calibration

                options["calibration"] = non_picture_calibration(recipe, images)
            else:
                options["calibration"] = str(images) if images else "seeded random data (testing only)"
                if split and images:
                    options["calibration_part"] = (
                        "the calibration third of the pictures (data.split_pictures)"
                    )

        def samples() -> Iterator[list[np.ndarray]]:
            for sample in data:
                yield [sample[p.name] for p in inputs]

    graph_file = converters.write_graph_def(graph_def, out_dir)
    try:
        model = converters.to_tflite(graph_file, inputs, outputs, target, allow_custom, samples)
    finally:
        graph_file.unlink()
    return Converted(model, options, outputs, extras)


def _with_postprocess(prepared: Prepared, target: Target) -> tuple[Any, list[Port], dict[str, Any]]:
    """The trimmed SSD graph with anchors and the post-process op, after checking the anchors."""
    recipe = prepared.recipe
    where = f"{recipe.name}/{target.name}"
    anchors = ssd.recipe_anchors(recipe)
    ssd.check_graph_anchors(prepared.source_graph, recipe, anchors, where)
    boxes = _box_count(prepared)
    if boxes != len(anchors):
        raise ConversionError(
            f"{where}: detection.anchors: {len(anchors)} anchors for {boxes} box encodings; "
            "check feature_map_sizes, aspect_ratios and reduce_boxes_in_lowest_layer"
        )
    graph_def = ssd.add_postprocess(prepared.graph_def, recipe, anchors)
    assert recipe.detection is not None
    record = {
        "op": POSTPROCESS_OP,
        "anchors": len(anchors),
        "anchors_checked_against_graph": bool(
            recipe.detection.anchors and recipe.detection.anchors.graph_anchors
        ),
        **recipe.detection.postprocess.model_dump(mode="json"),
    }
    return graph_def, postprocess_outputs(recipe), {"postprocess": record}


def _box_count(prepared: Prepared) -> int:
    """Boxes the trimmed graph's box-encoding head produces (one run on a blank input)."""
    assert prepared.reference is not None and prepared.recipe.detection is not None
    feed = {p.name: np.zeros(p.shape, p.dtype) for p in prepared.inputs}
    name = prepared.recipe.detection.heads.box_encodings or prepared.outputs[0].name
    values = prepared.reference(feed)
    shape = values[name].shape if name in values else next(iter(values.values())).shape
    return int(shape[1])


# --- ONNX -----------------------------------------------------------------------------------------


def onnx_from_graph(prepared: Prepared, target: Target, images: Path | None, out_dir: Path) -> Converted:
    from zookit.convert import converters

    model = converters.to_onnx(prepared.graph_def, prepared.inputs, prepared.outputs, target)
    return Converted(model, converters.onnx_options(target), prepared.outputs)


def onnx_from_tflite(prepared: Prepared, target: Target, images: Path | None, out_dir: Path) -> Converted:
    from zookit.convert import converters

    assert prepared.tflite_path is not None
    options = converters.onnx_options(target) | {"converter": "tf2onnx.convert.from_tflite"}
    return Converted(converters.tflite_to_onnx(prepared.tflite_path, target), options, prepared.outputs)


def onnx_from_onnx(prepared: Prepared, target: Target, images: Path | None, out_dir: Path) -> Converted:
    """An ONNX source cut where the recipe says, with static shapes; or, for a target keeping an ONNX
    SSD's own post-process, the whole model with static shapes and its heads named."""
    recipe = prepared.recipe
    if not target.postprocess:
        options = {"converter": "onnx.utils.Extractor + onnx.shape_inference", "static_shapes": True}
        return Converted(prepared.onnx_model.SerializeToString(), options, prepared.outputs)
    if prepared.whole_onnx is None:
        raise ConversionError(f"{recipe.name}/{target.name}: postprocess needs an ONNX SSD source")
    options = {
        "converter": "onnx.shape_inference (static input shape; head outputs named after their nodes)",
        "static_shapes": True,
        "postprocess": "the source's own (TIDL's meta architecture replaces it after the heads)",
    }
    return Converted(prepared.whole_onnx.SerializeToString(), options, declared_ports(recipe)[1])


FORMATS: dict[str, Format] = {
    "tflite": Format(
        suffix=".tflite",
        converters={"tf-graph": tflite_from_graph, "tflite": tflite_as_is},
    ),
    "onnx": Format(
        suffix=".onnx",
        converters={"tf-graph": onnx_from_graph, "tflite": onnx_from_tflite, "onnx": onnx_from_onnx},
    ),
}


def converter(prepared: Prepared, target: Target) -> Converter:
    """The table's converter from this source to this target, or an error saying which ones exist."""
    fmt = FORMATS[target.format]
    if prepared.kind not in fmt.converters:
        makes = ", ".join(sorted(fmt.converters))
        raise ConversionError(
            f"{prepared.recipe.name}/{target.name}: no converter makes {target.format} from a "
            f"{prepared.kind} source (it is made from: {makes})"
        )
    return fmt.converters[prepared.kind]
