"""`zoo tidl`: the TIDL import package of a model, in ``zoo/<model>/tidl/``.

The package holds the model file TIDL imports (the recipe's ``tidl.target``), the legacy import-tool
config, the runtime compile options of TI's TFLite delegate / ONNX Runtime provider as JSON, the
meta-architecture file of a detector, a calibration list, the operator check, a README and
``package.json`` (what was written, from what, with checksums).

The package is built in a temporary folder beside ``tidl/`` and swapped in whole, so ``tidl/``
is either the previous complete package or the new one. Every prototxt is parsed back with the
schema in ``zookit.deploy.tidl.protos`` before it is written.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zookit.data import calibration_pictures, per_channel
from zookit.deploy.tidl import protos
from zookit.deploy.tidl.check import (
    POSTPROCESS_OP,
    Finding,
    TfliteModel,
    check_model,
    load_onnx,
    postprocess_heads,
    problems,
)
from zookit.errors import UsageError, ZooError
from zookit.fsutil import folder_listing, swap_in, temp_dir, write_json
from zookit.hashes import file_checksum
from zookit.layout import Layout
from zookit.recipe import Preprocessing, Recipe
from zookit.records import Manifest, Package

PACKAGE = Package.FILE
MODEL_TYPES = {"tflite": 3, "onnx": 2}
POST_PROC = {"none": 0, "classification": 1, "detection": 2, "segmentation": 3}
SCORE_CONVERTERS = {"sigmoid": "SIGMOID", "softmax": "SOFTMAX", "identity": "IDENTITY"}
BOX_CODES = {"center_size": "CENTER_SIZE", "corner": "CORNER"}


def _preprocessing(recipe: Recipe) -> Preprocessing:
    """A recipe with a tidl section has preprocessing (validation requires it: TIDL's import takes it)."""
    if recipe.preprocessing is None:
        raise UsageError(f"{recipe.name}: the recipe has no preprocessing section, which TIDL's import needs")
    return recipe.preprocessing


TOOLS_ENV = "TIDL_TOOLS_PATH"
ARTIFACTS = "artifacts"
# TI's compile step (TIDL_readInterfaceOptions) accepts exactly these.
ACCURACY_LEVELS = (0, 1, 9)
QUANT_SCALE_FLOAT, QUANT_SCALE_TFLITE_PREQUANTIZED = 0, 3


def tools_path(given: Path | None) -> Path | None:
    """TI's tidl_tools folder: ``--tidl-tools DIR``, else ``$TIDL_TOOLS_PATH``, else unknown (None)."""
    path = given or (Path(os.environ[TOOLS_ENV]) if os.environ.get(TOOLS_ENV) else None)
    if path is not None and not path.is_dir():
        origin = "--tidl-tools" if given else TOOLS_ENV
        raise UsageError(f"{origin}: {path} is not a folder (TI's compile step needs the tidl_tools folder)")
    return path.resolve() if path is not None else None


def build_package(
    recipe: Recipe,
    zoo_dir: Path,
    manifest: Manifest,
    calibration_images: Path | None,
    strict: bool = False,
    stage_key: str | None = None,
    tidl_tools: Path | None = None,
) -> dict[str, Any]:
    """Write ``zoo/<model>/tidl/`` from the converted target; return the package record."""
    if recipe.tidl is None:
        raise UsageError(f"{recipe.name}: the recipe has no tidl section")
    tidl = recipe.tidl
    zoo = Layout(zoo_dir)
    model_dir = zoo.model(recipe.name)
    source = zoo.target(recipe.name, tidl.target) / manifest.output.file
    if file_checksum(source) != manifest.output.checksum:
        raise ZooError(f"{source} differs from its manifest; run `zoo convert {recipe.name}` again")
    heads = manifest.heads if recipe.detection is not None and recipe.detection.priors else None
    findings = check_model(source, (heads or {}).get("box", []) + (heads or {}).get("class", []))
    if strict and problems(findings):
        raise ZooError(_findings_error(source, problems(findings)))
    layout = _layout(recipe, manifest)
    width, height, _ = _input_geometry(manifest, layout)
    pictures = []
    if calibration_images:
        pictures = calibration_pictures(
            calibration_images, _preprocessing(recipe), height, width, tidl.calibration_frames
        )

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = temp_dir(model_dir, ".tidl-")
    try:
        package = PackageFiles(recipe, manifest, source, staging, tidl_tools)
        files = package.write(pictures, findings)
        missing = [] if pictures else ["calibration list: pass --calibration-images DIR"]
        record = {
            "recipe": recipe.name,
            "recipe_digest": recipe.digest,
            "target": tidl.target,
            "model_checksum": manifest.output.checksum,
            "files": {name: file_checksum(staging / name) for name in sorted(files)},
            "calibration_images": len(pictures),
            "calibration_listing": folder_listing(calibration_images),
            "complete": bool(pictures),
            "missing": missing,
            "tidl_tools_path": str(tidl_tools) if tidl_tools else None,
            "notes": package.notes(),
            "paths": "relative to this folder: run TI's tools from inside it",
            "preprocessing": preprocessing_record(recipe, width, height, layout),
            "check": [f.as_dict() for f in findings],
            "stage_key": stage_key,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(staging / PACKAGE, record)
        swap_in(staging, zoo.deploy(recipe.name, "tidl"))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _findings_error(path: Path, found: list[Finding]) -> str:
    listed = "; ".join(f"{f.op} at {f.node}: {f.reason}" for f in found)
    return f"{path}: {len(found)} operator(s) TIDL would not run on the accelerator: {listed}"


class PackageFiles:
    """The files of one TIDL package, written into ``out``."""

    def __init__(self, recipe: Recipe, manifest: Manifest, source: Path, out: Path, tools: Path | None):
        assert recipe.tidl is not None
        self.recipe, self.tidl, self.manifest, self.source, self.out = (
            recipe,
            recipe.tidl,
            manifest,
            source,
            out,
        )
        self.tools = tools
        self.model_name = source.name
        self.config = f"tidl_import_{recipe.name}.txt"
        self.meta: str | None = None
        self.calibration: str | None = None

    def write(self, pictures: list[tuple[Path, bytes]], findings: list[Finding]) -> list[str]:
        recipe, out = self.recipe, self.out
        files = [self.model_name]
        _link_or_copy(self.source, out / self.model_name)
        if recipe.detection is not None and recipe.detection.priors:
            self.meta = f"{recipe.name}_meta_arch.prototxt"
            (out / self.meta).write_text(caffe_ssd_prototxt(recipe, self.manifest, self.source, self.meta))
        elif recipe.detection is not None and recipe.detection.anchors:
            self.meta = f"{recipe.name}_pipeline.config"
            (out / self.meta).write_text(pipeline_config(recipe, self.manifest, self.source, self.meta))
        if self.meta:
            files.append(self.meta)
        if pictures:
            files += self._write_calibration(pictures)
        (out / ARTIFACTS).mkdir()  # TI's compile step needs the folder to exist and be empty
        (out / self.config).write_text(
            import_config(recipe, self.manifest, self.model_name, self.meta, self.calibration, len(pictures))
        )
        write_json(
            out / "runtime_options.json",
            runtime_options(recipe, self.manifest, self.meta, len(pictures), self.tools),
        )
        write_json(
            out / "check.json", {"model": self.model_name, "findings": [f.as_dict() for f in findings]}
        )
        (out / "README.md").write_text(self.readme(findings))
        return [*files, self.config, "runtime_options.json", "check.json", "README.md"]

    def _write_calibration(self, pictures: list[tuple[Path, bytes]]) -> list[str]:
        (self.out / "calibration").mkdir()
        names: list[str] = []
        for path, png in pictures:
            name = f"{path.stem}.png"
            if f"calibration/{name}" in names:
                name = f"{path.stem}-{len(names)}.png"
            (self.out / "calibration" / name).write_bytes(png)
            names.append(f"calibration/{name}")
        self.calibration = "calibration_list.txt"
        (self.out / self.calibration).write_text("".join(f"{n} 0\n" for n in names))
        return [*names, self.calibration]

    def notes(self) -> list[str]:
        notes = []
        if self.tools is None:
            notes.append(
                "tidl_tools_path is not set in runtime_options.json: TI's compile step requires it; "
                f"pass --tidl-tools DIR or set {TOOLS_ENV} and write the package again, or add it by hand"
            )
        return notes

    def readme(self, findings: list[Finding]) -> str:
        return readme(self, findings)


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


# --- file contents -------------------------------------------------------------------------------


def _input_geometry(manifest: Manifest, layout: str) -> tuple[int, int, int]:
    """(width, height, channels) of the model's first input."""
    shape = manifest.inputs[0]["shape"]
    if len(shape) != 4:
        raise ZooError(f"TIDL needs a 4-D image input, the model's is {shape}")
    if layout == "NCHW":
        return shape[3], shape[2], shape[1]
    return shape[2], shape[1], shape[3]


def _layout(recipe: Recipe, manifest: Manifest) -> str:
    """The input layout of the file TIDL imports: TFLite models take NHWC, ONNX the recipe's."""
    nchw = manifest.target.get("inputs_as_nchw") or _preprocessing(recipe).layout == "NCHW"
    return "NCHW" if manifest.target["format"] == "onnx" and nchw else "NHWC"


def legacy_meta_arch_type(recipe: Recipe) -> int | None:
    """metaArchType of the legacy import tool: the recipe's, else 1 for a TF OD API SSD (the import tool
    has no path for the TFLite post-process op; TI's route is the pipeline config with box/class inputs)."""
    assert recipe.tidl is not None
    if recipe.tidl.meta_arch_type is not None and recipe.tidl.meta_arch_type >= 0:
        return recipe.tidl.meta_arch_type
    return 1 if recipe.detection is not None and recipe.detection.anchors else None


def import_config(
    recipe: Recipe,
    manifest: Manifest,
    model_name: str,
    meta: str | None,
    calibration: str | None,
    frames: int,
) -> str:
    """The legacy import tool's ``key = value`` config. TI's parser reads a quoted value as one item, so
    per-channel values are written bare and space-separated, as TI's own examples write them. The
    calibration images are already brought to the input geometry (see calibration_pictures), so the
    importer's own resize (to resizeWidth x resizeHeight, then a central crop of inWidth x inHeight)
    leaves them as they are."""
    assert recipe.tidl is not None
    tidl, pre = recipe.tidl, _preprocessing(recipe)
    layout = _layout(recipe, manifest)
    width, height, channels = _input_geometry(manifest, layout)
    keys: dict[str, Any] = {
        "modelType": MODEL_TYPES[manifest.target["format"]],
        "inputNetFile": model_name,
        "outputNetFile": f"out/tidl_net_{recipe.name}.bin",
        "outputParamsFile": f"out/tidl_io_{recipe.name}_",
        "numParamBits": tidl.tensor_bits,
        "numFeatureBits": tidl.tensor_bits,
        "inDataNorm": 1,
        "inMean": [f"{m:g}" for m in per_channel(pre.mean)],
        "inScale": [f"{v:.8g}" for v in per_channel(pre.scale)],
        "inDataFormat": 1 if pre.channel_order == "RGB" else 0,
        "inElementType": 0,
        "inLayout": 0 if layout == "NCHW" else 1,
        "inWidth": width,
        "inHeight": height,
        "inNumChannels": channels,
        "resizeWidth": width,
        "resizeHeight": height,
    }
    if calibration:
        keys.update(inData=calibration, inFileFormat=2, numFrames=frames)
    keys["postProcType"] = POST_PROC[tidl.post_proc_type]
    meta_arch = legacy_meta_arch_type(recipe)
    if meta_arch is not None:
        keys["metaArchType"] = meta_arch
        if meta:
            keys["metaLayersNamesList"] = meta
    else:
        keys["outDataNamesList"] = ",".join(o["name"] for o in manifest.outputs)
    lines = [
        f"# TIDL import config for {recipe.name}, written by zookit from recipes/{recipe.name}.yaml.",
        f"# The model expects: {describe_preprocessing(recipe, width, height)}.",
        "# Calibration images in calibration/ are already resized and cropped to the input size.",
    ]
    lines += [f"{k} = {_value(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    """A config value as TI's parser reads it: strings quoted, per-channel lists bare and space-separated."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return f'"{value}"' if isinstance(value, str) else str(value)


def describe_preprocessing(recipe: Recipe, width: int, height: int) -> str:
    """The preprocessing the deployed model expects, in words."""
    p = _preprocessing(recipe)
    if p.size:
        geometry = f"RGB pixels resized to {p.size[1]}x{p.size[0]} (width x height, aspect ratio not kept)"
    elif p.resize:
        geometry = (
            f"RGB pixels resized so that the shorter side is {p.resize} (aspect ratio kept), then the central "
            f"{width}x{height} crop"
        )
    else:
        geometry = f"RGB pixels, central {width}x{height} crop"
    order = "" if p.channel_order == "RGB" else ", channels reversed to BGR"
    mean = ", ".join(f"{m:g}" for m in per_channel(p.mean))
    scale = ", ".join(f"{v:.8g}" for v in per_channel(p.scale))
    return f"{geometry}{order}, then (pixel - [{mean}]) * [{scale}] per channel"


def preprocessing_record(recipe: Recipe, width: int, height: int, layout: str) -> dict[str, Any]:
    """The same, as data in the terms of TI's edgeai tools (resize of the shorter side, crop, mean, scale)."""
    p = _preprocessing(recipe)
    return {
        "resize": list(p.size) if p.size else p.resize,
        "resize_keeps_aspect_ratio": p.size is None and p.resize is not None,
        "crop": [height, width],
        "data_layout": layout,
        "reverse_channels": p.channel_order == "BGR",
        "input_mean": per_channel(p.mean),
        "input_scale": per_channel(p.scale),
        "description": describe_preprocessing(recipe, width, height),
    }


def _prequantized(manifest: Manifest) -> bool:
    target = manifest.target
    return bool(target["format"] == "tflite" and target.get("quantization") in ("int8", "int16x8"))


def runtime_options(
    recipe: Recipe, manifest: Manifest, meta: str | None, frames: int, tools: Path | None = None
) -> dict[str, Any]:
    """Compile options of TI's TFLite delegate / ONNX Runtime execution provider. Paths are relative to
    the package folder (TI's tools resolve them from the folder they run in)."""
    assert recipe.tidl is not None
    tidl = recipe.tidl
    if tidl.accuracy_level not in ACCURACY_LEVELS:
        raise UsageError(f"tidl.accuracy_level: TI accepts {ACCURACY_LEVELS}, not {tidl.accuracy_level}")
    options: dict[str, Any] = {}
    if tools is not None:
        options["tidl_tools_path"] = str(tools)
    options.update(
        {
            "artifacts_folder": ARTIFACTS,
            "tensor_bits": tidl.tensor_bits,
            "accuracy_level": tidl.accuracy_level,
            "debug_level": 0,
            "advanced_options:calibration_frames": min(frames, tidl.calibration_frames)
            or tidl.calibration_frames,
            "advanced_options:calibration_iterations": tidl.calibration_iterations,
            # as TI's benchmark sets it: data conversion of inputs and outputs on the accelerator
            "advanced_options:add_data_convert_ops": 3,
            "advanced_options:quantization_scale_type": QUANT_SCALE_TFLITE_PREQUANTIZED
            if _prequantized(manifest)
            else QUANT_SCALE_FLOAT,
        }
    )
    if tidl.meta_arch_type is not None and tidl.meta_arch_type >= 0:
        options["object_detection:meta_arch_type"] = tidl.meta_arch_type
        if meta:
            options["object_detection:meta_layers_names_list"] = meta
    if recipe.detection is not None:
        pp = recipe.detection.postprocess
        options["object_detection:confidence_threshold"] = pp.score_threshold
        options["object_detection:nms_threshold"] = pp.iou_threshold
        options["object_detection:top_k"] = pp.top_k or pp.detections_per_class
        options["object_detection:keep_top_k"] = pp.keep_top_k or pp.max_detections
    if tidl.deny_list_layer_types:
        options["deny_list:layer_type"] = ", ".join(tidl.deny_list_layer_types)
    return options


# TIDL's ONNX SSD route (models not from MMDetection): exactly these outputs, in this order.
ONNX_SSD_OUTPUTS = (("boxes", 1), ("labels", 7), ("scores", 1))  # (role, onnx elem_type: 1 float, 7 int64)


def caffe_ssd_prototxt(recipe: Recipe, manifest: Manifest, model: Path, where: str) -> str:
    """TIDL's caffe_ssd meta architecture for the packaged ONNX SSD. Its ``output`` list is read off the
    packaged graph (TIDL stops when the count differs from the graph's outputs), and the box and class
    inputs must be tensors of that graph."""
    det = recipe.detection
    assert det is not None
    heads = manifest.heads
    if not heads:
        raise ZooError(
            f"{where}: the converted model records no heads; run `zoo convert {recipe.name}` again"
        )
    outputs = _onnx_ssd_outputs(model, heads["box"] + heads["class"], recipe, where)
    width, height, _ = _input_geometry(manifest, _layout(recipe, manifest))
    pp = det.postprocess
    priors = [
        {
            "min_size": p.min_size,
            "max_size": p.max_size,
            "aspect_ratio": p.aspect_ratio,
            "flip": p.flip,
            "clip": p.clip,
            "variance": p.variance,
            "step": p.step,
            "offset": p.offset,
        }
        for p in det.priors
    ]
    classes = det.num_classes + (1 if det.score_converter == "softmax" else 0)
    content = {
        "name": recipe.name,
        "caffe_ssd": [
            {
                "name": "ssd",
                "box_input": heads["box"],
                "class_input": heads["class"],
                "output": outputs,
                "in_width": width,
                "in_height": height,
                "score_converter": SCORE_CONVERTERS[det.score_converter],
                "prior_box_param": priors,
                "detection_output_param": {
                    "num_classes": classes,
                    "share_location": True,
                    "background_label_id": det.background_label_id,
                    "nms_param": {
                        "nms_threshold": pp.iou_threshold,
                        "top_k": pp.top_k or pp.detections_per_class,
                    },
                    "code_type": BOX_CODES[det.box_code],
                    "keep_top_k": pp.keep_top_k or pp.max_detections,
                    "confidence_threshold": pp.score_threshold,
                },
                "data_layout": det.data_layout.upper(),
            }
        ],
    }
    text = protos.render("tidl_meta_arch", content, where)
    written = protos.parse("tidl_meta_arch", text, where).caffe_ssd[0]
    if list(written.output) != outputs:  # the rule TIDL_readMetaArchInfo enforces, checked here
        raise ZooError(f"{where}: the prototxt names outputs {list(written.output)}, the model has {outputs}")
    return text


def _onnx_ssd_outputs(model: Path, heads: list[str], recipe: Recipe, where: str) -> list[str]:
    graph = load_onnx(model).graph
    tensors = {o for n in graph.node for o in n.output}
    missing = [h for h in heads if h not in tensors]
    if missing:
        raise ZooError(f"{where}: box/class inputs {missing} are not tensors of {model.name}")
    found = [(o.name, o.type.tensor_type.elem_type) for o in graph.output]
    if [t for _, t in found] != [t for _, t in ONNX_SSD_OUTPUTS]:
        raise ZooError(
            f"{where}: TIDL's ONNX SSD meta architecture (meta_arch_type 3) needs the model with exactly three "
            f"outputs, boxes (float), labels (int64) and scores (float); {model.name} has {len(found)} "
            f"({', '.join(n for n, _ in found[:4])}{', ...' if len(found) > 4 else ''}). Set tidl.target of "
            f"recipes/{recipe.name}.yaml to the ONNX target with postprocess: true"
        )
    return [name for name, _ in found]


def pipeline_config(recipe: Recipe, manifest: Manifest, model: Path, where: str) -> str:
    """The TF OD API pipeline config of a TFLite SSD in the field set of TI's bundled object_detection
    protos (TIDL's meta_arch_type 1), with box_input/class_input naming the head convolutions' outputs
    in the packaged TFLite model."""
    det = recipe.detection
    assert det is not None and det.anchors is not None
    heads = tflite_heads(model, where)
    width, height, _ = _input_geometry(manifest, "NHWC")
    a, coder, pp = det.anchors, det.box_coder, det.postprocess
    generator: dict[str, Any] = {
        "num_layers": a.num_layers,
        "min_scale": a.min_scale,
        "max_scale": a.max_scale,
        "aspect_ratios": a.aspect_ratios,
    }
    if a.interpolated_scale_aspect_ratio != 1.0:  # written only when not the TF OD API default
        generator["interpolated_scale_aspect_ratio"] = a.interpolated_scale_aspect_ratio
    if not a.reduce_boxes_in_lowest_layer:
        generator["reduce_boxes_in_lowest_layer"] = False
    content = {
        "model": {
            "ssd": {
                "num_classes": det.num_classes,
                "box_input": heads[0],
                "class_input": heads[1],
                "image_resizer": {"fixed_shape_resizer": {"height": height, "width": width}},
                "box_coder": {
                    "faster_rcnn_box_coder": {
                        "y_scale": coder.y_scale,
                        "x_scale": coder.x_scale,
                        "height_scale": coder.h_scale,
                        "width_scale": coder.w_scale,
                    }
                },
                "anchor_generator": {"ssd_anchor_generator": generator},
                "post_processing": {
                    "batch_non_max_suppression": {
                        "score_threshold": pp.score_threshold,
                        "iou_threshold": pp.iou_threshold,
                        "max_detections_per_class": pp.detections_per_class,
                        "max_total_detections": pp.max_detections,
                    },
                    "score_converter": SCORE_CONVERTERS[det.score_converter],
                },
                "encode_background_as_zeros": det.score_converter == "sigmoid",
            }
        }
    }
    return protos.render("object_detection", content, where)


def tflite_heads(model: Path, where: str) -> tuple[list[str], list[str]]:
    """The box and class head convolutions' output tensors that feed the model's post-process op."""
    m = TfliteModel(model)
    ops = [op for op in m.ops if op.name == POSTPROCESS_OP]
    heads = postprocess_heads(m, ops[0]) if len(ops) == 1 else None
    if heads is None:
        raise ZooError(
            f"{where}: cannot name box_input/class_input: {model.name} has no {POSTPROCESS_OP} fed by head "
            "convolutions through Reshape -> Concat (class scores through Logistic/Softmax)"
        )
    return heads


def readme(package: PackageFiles, findings: list[Finding]) -> str:
    recipe, tidl = package.recipe, package.tidl
    meta, calibration, config = package.meta, package.calibration, package.config
    width, height, _ = _input_geometry(package.manifest, _layout(recipe, package.manifest))
    lines = [
        f"# TIDL import package: {recipe.name}",
        "",
        f"{recipe.description}. Written by `zoo tidl {recipe.name}` from `recipes/{recipe.name}.yaml`;",
        "`package.json` lists every file with its checksum.",
        "",
        "| file | what it is |",
        "|---|---|",
        f"| `{package.model_name}` | the model TIDL imports (target `{tidl.target}`, verified against the source) |",
        f"| `{config}` | config of TI's legacy import tool (`tidl_model_import.out {config}`, run in this folder) |",
        "| `runtime_options.json` | compile options for TI's TFLite delegate / ONNX Runtime execution provider |",
        f"| `{ARTIFACTS}/` | empty: TI's compile step writes the compiled artefacts here (it must exist and be empty) |",
    ]
    if meta and meta.endswith(".prototxt"):
        lines.append(
            f"| `{meta}` | meta-architecture (caffe_ssd): TIDL's detection post-process after the heads |"
        )
    elif meta:
        lines.append(
            f"| `{meta}` | TF OD API pipeline config with box_input/class_input: TIDL's SSD post-process "
            "(metaArchType 1 of the legacy import tool) |"
        )
    if calibration:
        lines.append(f"| `{calibration}` | calibration list (`path label`; labels are unused placeholders) |")
        lines.append(
            "| `calibration/` | the calibration images, already resized and cropped to the input size |"
        )
    lines.append("| `check.json` | operators TIDL would not run on the accelerator (`zoo check`) |")
    lines += [
        "",
        "## Preprocessing the model expects",
        "",
        f"{describe_preprocessing(recipe, width, height)}; input layout {_layout(recipe, package.manifest)}.",
        "The import config gives the importer the same mean and scale; `package.json` has it as data.",
        "",
        "## Compiling",
        "",
        "Every path in `runtime_options.json` and in the import config is relative to this folder: run TI's",
        "tools from inside it (`cd` here first), for example with TI's edgeai-tidl-tools:",
        "",
        "```python",
        "import json; options = json.load(open('runtime_options.json'))",
        "# onnxruntime: providers=['TIDLCompilationProvider', 'CPUExecutionProvider'],",
        "#              provider_options=[options, {}]",
        "# TFLite: tflite_runtime.interpreter.load_delegate('tidl_model_import_tflite.so', options)",
        "```",
        "",
    ]
    if package.tools is None:
        lines += [
            "**`tidl_tools_path` is not set**: TI's compile step stops without it. Add it to `runtime_options.json`,",
            f"or write the package again with `zoo tidl {recipe.name} --tidl-tools DIR` (or `{TOOLS_ENV}` set).",
            "",
        ]
    if recipe.detection is not None and recipe.detection.anchors:
        lines += [
            "The TFLite model ends in `TFLite_Detection_PostProcess`: TIDL's TFLite delegate takes it over when",
            "compiling through `runtime_options.json` (no meta_arch_type). TI's legacy import tool has no path for",
            "that op; the import config therefore uses TI's documented route, metaArchType 1 with the pipeline",
            "config, whose box_input/class_input name the head convolutions' outputs in the model.",
            "",
        ]
    if not calibration:
        lines += ["No calibration list: run `zoo tidl --calibration-images DIR` to add one.", ""]
    bad = problems(findings)
    if bad:
        lines.append("Operators TIDL would not run on the accelerator:")
        lines += [f"- {f.op} (`{f.node}`): {f.reason}" for f in bad]
    else:
        lines.append("`zoo check` found no operator outside TI's published limits.")
    return "\n".join(lines) + "\n"
