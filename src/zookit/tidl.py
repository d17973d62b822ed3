"""`zoo tidl`: the TIDL import package of a model, in ``zoo/<model>/tidl/``.

The package holds the model file TIDL imports (the recipe's ``tidl.target``), the legacy import-tool
config, the runtime compile options of TI's TFLite delegate / ONNX Runtime provider as JSON, the
meta-architecture file of a detector, a calibration list, the operator check, a README and
``package.json`` (what was written, from what, with checksums).

The package is built in a temporary folder beside ``tidl/`` and swapped in whole, so ``tidl/``
is either the previous complete package or the new one. Every prototxt is parsed back with the
schema in ``zookit.protos`` before it is written.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from zookit import protos
from zookit.data import image_files, per_channel
from zookit.errors import UsageError, ZooError
from zookit.fsutil import read_json, temp_dir, write_json
from zookit.hashes import file_checksum
from zookit.recipe import Recipe
from zookit.tidlcheck import Finding, check_model, problems

PACKAGE = "package.json"
MODEL_TYPES = {"tflite": 3, "onnx": 2}
POST_PROC = {"none": 0, "classification": 1, "detection": 2, "segmentation": 3}
SCORE_CONVERTERS = {"sigmoid": "SIGMOID", "softmax": "SOFTMAX", "identity": "IDENTITY"}
BOX_CODES = {"center_size": "CENTER_SIZE", "corner": "CORNER"}


def target_manifest(recipe: Recipe, zoo_dir: Path) -> dict[str, Any] | None:
    """The manifest of the converted TIDL target when it is current (same recipe, file intact)."""
    if recipe.tidl is None:
        return None
    folder = zoo_dir / recipe.name / recipe.tidl.target
    manifest = read_json(folder / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("recipe_digest") != recipe.digest:
        return None
    model = folder / manifest["output"]["file"]
    if not model.is_file() or model.stat().st_size != manifest["output"]["size"]:
        return None
    return manifest


def build_package(
    recipe: Recipe,
    zoo_dir: Path,
    manifest: dict[str, Any],
    calibration_images: Path | None,
    strict: bool = False,
    stage_key: str | None = None,
) -> dict[str, Any]:
    """Write ``zoo/<model>/tidl/`` from the converted target; return the package record."""
    if recipe.tidl is None:
        raise UsageError(f"{recipe.name}: the recipe has no tidl section")
    tidl = recipe.tidl
    model_dir = zoo_dir / recipe.name
    source = model_dir / tidl.target / manifest["output"]["file"]
    if file_checksum(source) != manifest["output"]["checksum"]:
        raise ZooError(f"{source} differs from its manifest; run `zoo convert {recipe.name}` again")
    findings = check_model(source)
    if strict and problems(findings):
        raise ZooError(_findings_error(source, problems(findings)))
    images = _calibration_files(calibration_images, tidl.calibration_frames) if calibration_images else []

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = temp_dir(model_dir, ".tidl-")
    try:
        files = _write_files(recipe, manifest, source, staging, images, findings)
        record = {
            "recipe": recipe.name,
            "recipe_digest": recipe.digest,
            "target": tidl.target,
            "model_checksum": manifest["output"]["checksum"],
            "files": {name: file_checksum(staging / name) for name in sorted(files)},
            "calibration_images": len(images),
            "complete": bool(images),
            "missing": [] if images else ["calibration list: pass --calibration-images DIR"],
            "check": [f.as_dict() for f in findings],
            "stage_key": stage_key,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(staging / PACKAGE, record)
        _swap_in(staging, model_dir / "tidl")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def _findings_error(path: Path, found: list[Finding]) -> str:
    listed = "; ".join(f"{f.op} at {f.node}: {f.reason}" for f in found)
    return f"{path}: {len(found)} operator(s) TIDL would not run on the accelerator: {listed}"


def _calibration_files(folder: Path, frames: int) -> list[Path]:
    return image_files(folder)[:frames]


def _swap_in(staging: Path, dest: Path) -> None:
    """Replace ``dest`` by ``staging`` so that ``dest`` never holds a partial package."""
    old = None
    if dest.exists():
        old = temp_dir(dest.parent, ".tidl-old-")
        os.replace(dest, old / "tidl")
    os.replace(staging, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_files(
    recipe: Recipe,
    manifest: dict[str, Any],
    source: Path,
    out: Path,
    images: list[Path],
    findings: list[Finding],
) -> list[str]:
    assert recipe.tidl is not None
    files = []
    model_name = source.name
    _link_or_copy(source, out / model_name)
    files.append(model_name)
    meta = None
    if recipe.detection is not None and recipe.detection.priors:
        meta = f"{recipe.name}_meta_arch.prototxt"
        (out / meta).write_text(caffe_ssd_prototxt(recipe, manifest, meta))
    elif recipe.detection is not None and recipe.detection.anchors:
        meta = f"{recipe.name}_pipeline.config"
        (out / meta).write_text(pipeline_config(recipe, manifest, meta))
    if meta:
        files.append(meta)
    calibration = None
    if images:
        (out / "calibration").mkdir()
        lines = []
        for image in images:
            shutil.copyfile(image, out / "calibration" / image.name)
            lines.append(f"calibration/{image.name} 0")
            files.append(f"calibration/{image.name}")
        calibration = "calibration_list.txt"
        (out / calibration).write_text("\n".join(lines) + "\n")
        files.append(calibration)
    config = f"tidl_import_{recipe.name}.txt"
    (out / config).write_text(import_config(recipe, manifest, model_name, meta, calibration, len(images)))
    options = "runtime_options.json"
    write_json(out / options, runtime_options(recipe, meta, len(images)))
    write_json(out / "check.json", {"model": model_name, "findings": [f.as_dict() for f in findings]})
    (out / "README.md").write_text(readme(recipe, model_name, config, options, meta, calibration, findings))
    return [*files, config, options, "check.json", "README.md"]


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


# --- file contents -------------------------------------------------------------------------------


def _input_geometry(manifest: dict[str, Any], layout: str) -> tuple[int, int, int]:
    """(width, height, channels) of the model's first input."""
    shape = manifest["inputs"][0]["shape"]
    if len(shape) != 4:
        raise ZooError(f"TIDL needs a 4-D image input, the model's is {shape}")
    if layout == "NCHW":
        return shape[3], shape[2], shape[1]
    return shape[2], shape[1], shape[3]


def _layout(recipe: Recipe, manifest: dict[str, Any]) -> str:
    """The input layout of the file TIDL imports: TFLite models take NHWC, ONNX the recipe's."""
    nchw = manifest["target"].get("inputs_as_nchw") or recipe.preprocessing.layout == "NCHW"
    return "NCHW" if manifest["target"]["format"] == "onnx" and nchw else "NHWC"


def import_config(
    recipe: Recipe,
    manifest: dict[str, Any],
    model_name: str,
    meta: str | None,
    calibration: str | None,
    frames: int,
) -> str:
    """The legacy import tool's ``key = value`` config."""
    assert recipe.tidl is not None
    tidl, pre = recipe.tidl, recipe.preprocessing
    layout = _layout(recipe, manifest)
    width, height, channels = _input_geometry(manifest, layout)
    resize = pre.size or ((pre.resize, pre.resize) if pre.resize else (height, width))
    keys: dict[str, Any] = {
        "modelType": MODEL_TYPES[manifest["target"]["format"]],
        "inputNetFile": model_name,
        "outputNetFile": f"out/tidl_net_{recipe.name}.bin",
        "outputParamsFile": f"out/tidl_io_{recipe.name}_",
        "numParamBits": tidl.tensor_bits,
        "numFeatureBits": tidl.tensor_bits,
        "inDataNorm": 1,
        "inMean": " ".join(f"{m:g}" for m in per_channel(pre.mean)),
        "inScale": " ".join(f"{s:.8g}" for s in per_channel(pre.scale)),
        "inDataFormat": 1 if pre.channel_order == "RGB" else 0,
        "inElementType": 0,
        "inLayout": 0 if layout == "NCHW" else 1,
        "inWidth": width,
        "inHeight": height,
        "inNumChannels": channels,
        "resizeWidth": resize[1],
        "resizeHeight": resize[0],
    }
    if calibration:
        keys.update(inData=calibration, inFileFormat=2, numFrames=frames)
    keys["postProcType"] = POST_PROC[tidl.post_proc_type]
    if tidl.meta_arch_type is not None and tidl.meta_arch_type >= 0:
        keys["metaArchType"] = tidl.meta_arch_type
        if meta:
            keys["metaLayersNamesList"] = meta
    else:
        keys["outDataNamesList"] = ",".join(o["name"] for o in manifest["outputs"])
    lines = [f"# TIDL import config for {recipe.name}, written by zookit from recipes/{recipe.name}.yaml"]
    lines += [f"{k} = {_quote(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def _quote(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def runtime_options(recipe: Recipe, meta: str | None, frames: int) -> dict[str, Any]:
    """Compile options of TI's TFLite delegate / ONNX Runtime execution provider."""
    assert recipe.tidl is not None
    tidl = recipe.tidl
    options: dict[str, Any] = {
        "tensor_bits": tidl.tensor_bits,
        "accuracy_level": tidl.accuracy_level,
        "advanced_options:calibration_frames": min(frames, tidl.calibration_frames)
        or tidl.calibration_frames,
        "advanced_options:calibration_iterations": tidl.calibration_iterations,
    }
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


def caffe_ssd_prototxt(recipe: Recipe, manifest: dict[str, Any], where: str) -> str:
    """TIDL's caffe_ssd meta architecture for an ONNX SSD cut after its heads."""
    det = recipe.detection
    assert det is not None
    heads = manifest.get("heads")
    if not heads:
        raise ZooError(
            f"{where}: the converted model records no heads; run `zoo convert {recipe.name}` again"
        )
    width, height, _ = _input_geometry(manifest, _layout(recipe, manifest))
    pp = det.postprocess
    priors = []
    for p in det.priors:
        prior: dict[str, Any] = {
            "min_size": p.min_size,
            "max_size": p.max_size,
            "aspect_ratio": p.aspect_ratio,
            "flip": p.flip,
            "clip": p.clip,
            "variance": p.variance,
            "step": p.step,
            "offset": p.offset,
        }
        priors.append(prior)
    classes = det.num_classes + (1 if det.score_converter == "softmax" else 0)
    content = {
        "name": recipe.name,
        "caffe_ssd": [
            {
                "name": "ssd",
                "box_input": heads["box"],
                "class_input": heads["class"],
                "output": [o.name for o in recipe.outputs],
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
    return protos.render("tidl_meta_arch", content, where)


def pipeline_config(recipe: Recipe, manifest: dict[str, Any], where: str) -> str:
    """The TF OD API pipeline config that describes an SSD's anchors, box coder and NMS."""
    det = recipe.detection
    assert det is not None and det.anchors is not None
    width, height, _ = _input_geometry(manifest, "NHWC")
    a, coder, pp = det.anchors, det.box_coder, det.postprocess
    content = {
        "model": {
            "ssd": {
                "num_classes": det.num_classes,
                "image_resizer": {"fixed_shape_resizer": {"height": height, "width": width}},
                "box_coder": {
                    "faster_rcnn_box_coder": {
                        "y_scale": coder.y_scale,
                        "x_scale": coder.x_scale,
                        "height_scale": coder.h_scale,
                        "width_scale": coder.w_scale,
                    }
                },
                "anchor_generator": {
                    "ssd_anchor_generator": {
                        "num_layers": a.num_layers,
                        "min_scale": a.min_scale,
                        "max_scale": a.max_scale,
                        "aspect_ratios": a.aspect_ratios,
                        "interpolated_scale_aspect_ratio": a.interpolated_scale_aspect_ratio,
                        "reduce_boxes_in_lowest_layer": a.reduce_boxes_in_lowest_layer,
                    }
                },
                "post_processing": {
                    "batch_non_max_suppression": {
                        "score_threshold": pp.score_threshold,
                        "iou_threshold": pp.iou_threshold,
                        "max_detections_per_class": pp.detections_per_class,
                        "max_total_detections": pp.max_detections,
                        "use_class_agnostic_nms": not pp.use_regular_nms,
                    },
                    "score_converter": SCORE_CONVERTERS[det.score_converter],
                },
                "encode_background_as_zeros": det.score_converter == "sigmoid",
            }
        }
    }
    return protos.render("object_detection", content, where)


def readme(
    recipe: Recipe,
    model_name: str,
    config: str,
    options: str,
    meta: str | None,
    calibration: str | None,
    findings: list[Finding],
) -> str:
    assert recipe.tidl is not None
    lines = [
        f"# TIDL import package: {recipe.name}",
        "",
        f"{recipe.description}. Written by `zoo tidl {recipe.name}` from `recipes/{recipe.name}.yaml`;",
        "`package.json` lists every file with its checksum.",
        "",
        "| file | what it is |",
        "|---|---|",
        f"| `{model_name}` | the model TIDL imports (target `{recipe.tidl.target}`, verified against the source) |",
        f"| `{config}` | config of TI's legacy import tool (`tidl_model_import.out {config}`, run in this folder) |",
        f"| `{options}` | compile options for TI's TFLite delegate / ONNX Runtime execution provider |",
    ]
    if meta and meta.endswith(".prototxt"):
        lines.append(
            f"| `{meta}` | meta-architecture (caffe_ssd): TIDL's detection post-process after the heads |"
        )
    elif meta:
        lines.append(
            f"| `{meta}` | TF OD API pipeline config (anchors, box coder, NMS); needed only with meta_arch_type 1 |"
        )
    if calibration:
        lines.append(f"| `{calibration}` | calibration list (`path label`; labels are unused placeholders) |")
        lines.append("| `calibration/` | the calibration images |")
    lines.append("| `check.json` | operators TIDL would not run on the accelerator (`zoo check`) |")
    lines.append("")
    if not calibration:
        lines += ["No calibration list: run `zoo tidl --calibration-images DIR` to add one.", ""]
    bad = problems(findings)
    if bad:
        lines.append("Operators TIDL would not run on the accelerator:")
        lines += [f"- {f.op} (`{f.node}`): {f.reason}" for f in bad]
    else:
        lines.append("`zoo check` found no operator outside TIDL's limits.")
    return "\n".join(lines) + "\n"
