"""What a TIDL package tells TI's tools: the runtime compile options (``runtime_options.json``, for TI's
TFLite delegate / ONNX Runtime execution provider) and the legacy import tool's config
(``tidl_import_<model>.txt``). Both say the same thing where they overlap: calibration, tools.

TI's rules are cited where they are encoded. "TI's README" is edgeai-tidl-tools 11_00_06_00
examples/osrt_python/README.md; "TI's compile step source" is TIDL 08_06_00_10
ti_dl/utils/tidlModelImport/tidl_runtimes_import_common.cpp (Processor SDK RTOS J721E 08_06_01_03, the
last release whose import sources are public) and "TI's config parser" is tidl_import_config.cpp there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zookit.data import per_channel
from zookit.deploy.tidl import recipe_file
from zookit.deploy.tidl.inputs import describe_preprocessing, input_geometry, input_layout, preprocessing_of
from zookit.errors import UsageError
from zookit.recipe import Recipe
from zookit.recipe.tidl import Tidl, deny_list_problems, operator_names, tflite_operator_codes
from zookit.records import Manifest

ARTIFACTS = (
    "artifacts"  # TI's compile step writes here; it must exist and be empty (TIDL_readInterfaceOptions)
)
# The legacy import tool opens its output files for writing and makes no folder (TI's notebook
# examples/jupyter_notebooks/colab/tidlrt_tools.ipynb makes it first, line 124): the package holds this one, empty.
IMPORT_OUT = "out"
MODEL_TYPES = {"tflite": 3, "onnx": 2}
POST_PROC = {"none": 0, "classification": 1, "detection": 2, "segmentation": 3}
QUANT_SCALE_FLOAT, QUANT_SCALE_TFLITE_PREQUANTIZED = 0, 3  # TI's README:195
# advanced_options:quantization_scale_type -> the legacy tool's quantizationStyle, as TI's compile step maps
# it (TIDL_readInterfaceOptions, tidl_runtimes_import_common.cpp: "0" TIDL_QuantStyleNP2Fixed, "1"
# TIDL_QuantStyleP2Dynamic, "3" TIDL_QuantStyleAsymNP2_TFL, "4" TIDL_QuantStyleAsymNP2), with the values of
# TIDL's itidl_ti.h (NP2Fixed 2, P2Dynamic 3, AsymNP2_TFL 5, AsymNP2 6). The legacy tool's default
# (setDefaultParams) is TIDL_QuantStyleNP2Fixed: a pre-quantized TFLite model must say 5.
QUANTIZATION_STYLES = {0: 2, 1: 3, 3: 5, 4: 6}
# TI's README:199; TI's examples switch the conversion off for a pre-quantized TFLite model (scale type 3):
# examples/osrt_python/common_utils.py:88-91 ("if quantization_scale_type == 3: data_convert = 0").
DATA_CONVERT_INPUTS_AND_OUTPUTS, DATA_CONVERT_OFF = 3, 0

# accuracy_level -> the legacy tool's calibrationOption, as TI's compile step sets it: TIDL_readInterfaceOptions
# maps "0" -> 64 and "1" -> 7; "9" is built in TIDL_derivedInterfaceOptions from the advanced options
# (activation_clipping*1 + weight_clipping*2 + bias_calibration*4 + channel_wise_quantization*8 +
# bias_clipping*64), which zookit does not set, so TI's defaults (README:186-189: 1, 1, 1, 0; bias_clipping
# 0) make 7; TIDL_runtimesPostProcessNet then sets calibrationOption to it. Level 2 is new in TIDL 11.0,
# whose sources are not public, and no published file gives its calibrationOption: it is left out (the
# legacy tool then uses its default, 0 "Simple calibration", per TI's config parser) and the package says so.
CALIBRATION_OPTIONS = {0: 64, 1: 7, 9: 7}

# The legacy tool's helpers in TI's tidl_tools folder, by the names TI's compile step gives them
# (TIDL_runtimesGparamsInit: tidl_tools_path + "/PC_dsp_test_dl_algo.out", ...) and TI's notebook passes
# (examples/jupyter_notebooks/colab/tidlrt_tools.ipynb, lines 175 and 252-254): the tool's own defaults
# point into a full TIDL SDK install (${TIDL_INSTALL_PATH}/ti_dl/..., TI's config parser's help texts).
LEGACY_TOOLS = {
    "tidlStatsTool": "PC_dsp_test_dl_algo.out",
    "perfSimTool": "ti_cnnperfsim.out",
    "graphVizTool": "tidl_graphVisualiser.out",
    "perfSimConfig": "device_config.cfg",
}


# The TFLite route's delegate, loaded from tidl_tools_path by TI's example (examples/osrt_python/tfl/
# tflrt_delegate.py:300, os.path.join(tidl_tools_path, "tidl_model_import_tflite.so")).
TFLITE_DELEGATE = "tidl_model_import_tflite.so"


def tool_files(manifest: Manifest) -> list[str]:
    """The files of TI's tidl_tools folder the package's config and options point at."""
    delegate = [TFLITE_DELEGATE] if manifest.target["format"] == "tflite" else []
    return [*delegate, *LEGACY_TOOLS.values()]


def calibration_frames(tidl: Tidl, frames: int) -> int:
    """The frames calibration uses: the recipe's number, at most the pictures there are."""
    return min(frames, tidl.calibration_frames) or tidl.calibration_frames


def prequantized(manifest: Manifest) -> bool:
    target = manifest.target
    return bool(target["format"] == "tflite" and target.get("quantization") in ("int8", "int16x8"))


def scale_type(manifest: Manifest) -> int:
    """advanced_options:quantization_scale_type: 3 for a pre-quantized TFLite model, else TI's default 0."""
    return QUANT_SCALE_TFLITE_PREQUANTIZED if prequantized(manifest) else QUANT_SCALE_FLOAT


def runtime_options(
    recipe: Recipe, manifest: Manifest, meta: str | None, frames: int, tools: Path | None = None
) -> dict[str, Any]:
    """Compile options of TI's TFLite delegate / ONNX Runtime execution provider. Paths are relative to
    the package folder (TI's tools resolve them from the folder they run in)."""
    assert recipe.tidl is not None
    tidl = recipe.tidl
    scale = scale_type(manifest)
    options: dict[str, Any] = {}
    if tools is not None:
        options["tidl_tools_path"] = str(tools)
    options.update(
        {
            "artifacts_folder": ARTIFACTS,
            "tensor_bits": tidl.tensor_bits,
            "accuracy_level": tidl.accuracy_level,
            "debug_level": 0,
            "advanced_options:calibration_frames": calibration_frames(tidl, frames),
            "advanced_options:calibration_iterations": tidl.calibration_iterations,
            # inputs and outputs converted on the accelerator, as TI's examples do, except for a
            # pre-quantized TFLite model, whose own int8 input and output are kept (see DATA_CONVERT_*)
            "advanced_options:add_data_convert_ops": DATA_CONVERT_OFF
            if scale == QUANT_SCALE_TFLITE_PREQUANTIZED
            else DATA_CONVERT_INPUTS_AND_OUTPUTS,
            "advanced_options:quantization_scale_type": scale,
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
        options["deny_list:layer_type"] = deny_list_value(recipe, manifest.target["format"])
    options.update({RUNTIME_16BIT[k]: ", ".join(v) for k, v in sixteen_bit(tidl).items()})
    return options


# Mixed precision, TI's names. Runtime options: edgeai-tidl-tools 11_00_06_00 examples/osrt_python/README.md:176-177
# ("Comma separated string" of layer names "as in the original model") and common_utils.py:78-79, 81-82 of
# advanced_examples/RGB_YUV_model_conversion. Legacy import config: TI's import tool parameter table (the
# gParams entries "outputFeature16bitNamesList" and "params16bitNamesList": names "separated by comma or space
# or tab"; the OSRT option table maps outputFeature16bitNamesList to advanced_options:output_feature_16bit_names_list).
# That parser is not in edgeai-tidl-tools' public tree at any tag; TI's docs/tidl_fsg_quantization.md:96 describes
# the feature. TIDL merges layers: a name must be the last layer of a merged group (TI: <outputNetFile>.layer_info.txt).
RUNTIME_16BIT = {
    "output_feature_16bit_names": "advanced_options:output_feature_16bit_names_list",
    "params_16bit_names": "advanced_options:params_16bit_names_list",
}
LEGACY_16BIT = {
    "output_feature_16bit_names": "outputFeature16bitNamesList",
    "params_16bit_names": "params16bitNamesList",
}
# TI: calibration_frames "min 10 frames recommended" (examples/osrt_python/README.md:174); "using 50 or more
# number of images gives considerable accuracy boost" (docs/tidl_fsg_quantization.md:80), 11_00_06_00.
MIN_CALIBRATION_FRAMES = 10


def sixteen_bit(tidl: Tidl) -> dict[str, list[str]]:
    """The recipe's 16-bit lists that are set, by recipe field."""
    lists = {"output_feature_16bit_names": tidl.output_feature_16bit_names}
    lists["params_16bit_names"] = tidl.params_16bit_names
    return {k: v for k, v in lists.items() if v}


def deny_list_value(recipe: Recipe, fmt: str) -> str:
    """deny_list:layer_type as TI reads it: one comma-separated string (README:132), of TFLite builtin
    operator codes for a TFLite model ("1, 2" denies AveragePool2d and Concatenation, README:141) and of
    ONNX operator types for an ONNX one ("MaxPool", README:142)."""
    assert recipe.tidl is not None
    names = recipe.tidl.deny_list_layer_types
    if operator_names(fmt) is None:
        raise UsageError(
            f"{recipe.name}: tidl.deny_list_layer_types: checking {fmt} operators needs zookit[convert]"
        )
    problems = deny_list_problems(names, fmt)
    if problems:
        raise UsageError(f"{recipe.name}: {'; '.join(problems)}")
    if fmt == "tflite":
        codes = tflite_operator_codes()
        return ", ".join(str(codes[name]) for name in names)
    return ", ".join(names)


# --- the legacy import tool ---------------------------------------------------------------------------


def legacy_meta_arch_type(recipe: Recipe) -> int | None:
    """metaArchType of the legacy import tool: the recipe's, else 1 for a TF OD API SSD (the import tool
    has no path for the TFLite post-process op; TI's route is the pipeline config with box/class inputs)."""
    assert recipe.tidl is not None
    if recipe.tidl.meta_arch_type is not None and recipe.tidl.meta_arch_type >= 0:
        return recipe.tidl.meta_arch_type
    return 1 if recipe.detection is not None and recipe.detection.anchors else None


def legacy_calibration(tidl: Tidl, frames: int) -> dict[str, Any]:
    """The legacy tool's calibration keys that match the runtime options (TIDL_runtimesPostProcessNet sets
    numFramesBiasCalibration, calibrationOption and biasCalibrationIterations from them)."""
    keys: dict[str, Any] = {}
    if tidl.accuracy_level in CALIBRATION_OPTIONS:
        keys["calibrationOption"] = CALIBRATION_OPTIONS[tidl.accuracy_level]
    keys["numFramesBiasCalibration"] = calibration_frames(tidl, frames)
    keys["biasCalibrationIterations"] = tidl.calibration_iterations
    return keys


def legacy_notes(tidl: Tidl) -> list[str]:
    """What the package cannot promise about the accuracy level, said in package.json and the README."""
    if tidl.accuracy_level != 2:
        return []
    return [
        "accuracy_level 2 needs TI's tools 11.0 or newer (earlier ones stop with 'unsupported accuracy_level'); "
        "TI publishes no legacy calibrationOption for it, so the legacy import config leaves calibrationOption "
        "out and that route calibrates with the import tool's default (0, simple calibration)"
    ]


def import_config(
    recipe: Recipe,
    manifest: Manifest,
    model_name: str,
    meta: str | None,
    calibration: str | None,
    frames: int,
    tools: Path | None = None,
    outputs: list[str] | None = None,
) -> str:
    """The legacy import tool's ``key = value`` config. TI's parser reads a quoted value as one item, so
    per-channel values are written bare and space-separated, as TI's own examples write them. The
    calibration images are already brought to the input geometry (see calibration_pictures), so the
    importer's own resize (to resizeWidth x resizeHeight, then a central crop of inWidth x inHeight)
    leaves them as they are. ``outputs`` are the packaged model's own output names (outDataNamesList;
    default: the manifest's)."""
    assert recipe.tidl is not None
    tidl, pre = recipe.tidl, preprocessing_of(recipe)
    layout = input_layout(recipe, manifest)
    width, height, channels = input_geometry(manifest, layout)
    keys: dict[str, Any] = {
        "modelType": MODEL_TYPES[manifest.target["format"]],
        "inputNetFile": model_name,
        "outputNetFile": f"{IMPORT_OUT}/tidl_net_{recipe.name}.bin",
        "outputParamsFile": f"{IMPORT_OUT}/tidl_io_{recipe.name}_",
        "quantizationStyle": QUANTIZATION_STYLES[scale_type(manifest)],
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
    keys.update(legacy_calibration(tidl, frames))
    keys.update({LEGACY_16BIT[k]: ",".join(v) for k, v in sixteen_bit(tidl).items()})
    keys["postProcType"] = POST_PROC[tidl.post_proc_type]
    meta_arch = legacy_meta_arch_type(recipe)
    if meta_arch is not None:
        keys["metaArchType"] = meta_arch
        if meta:
            keys["metaLayersNamesList"] = meta
    else:
        keys["outDataNamesList"] = ",".join(outputs or [o["name"] for o in manifest.outputs])
    if tools is not None:
        keys.update({key: str(tools / name) for key, name in LEGACY_TOOLS.items()})
    lines = [
        f"# TIDL import config for {recipe.name}, written by zookit from {recipe_file(recipe)}.",
        f"# The model expects: {describe_preprocessing(recipe, width, height)}.",
        "# Calibration images in calibration/ are already resized and cropped to the input size.",
        f"# Calibration as runtime_options.json asks for it (accuracy_level {tidl.accuracy_level})."
        if tidl.accuracy_level in CALIBRATION_OPTIONS
        else f"# accuracy_level {tidl.accuracy_level} has no published calibrationOption: this tool's default is used.",
    ]
    if tools is None:
        lines.append(
            f"# {', '.join(LEGACY_TOOLS)}: not set, TI's tidl_tools folder is not known; "
            f"run `zoo tidl {recipe.name} --tidl-tools DIR`."
        )
    lines += [f"{k} = {_value(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    """A config value as TI's parser reads it: strings quoted, per-channel lists bare and space-separated."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return f'"{value}"' if isinstance(value, str) else str(value)


def thin_calibration(frames: int) -> str | None:
    """A warning when a package is calibrated on fewer frames than TI recommends (None: enough)."""
    if frames >= MIN_CALIBRATION_FRAMES:
        return None
    return (
        f"calibrated on {frames} frame(s): TI recommends at least {MIN_CALIBRATION_FRAMES} and finds 50 or "
        "more helps; pass --calibration-images with more pictures (`zoo diagnose` shows whether it would help)"
    )


def model_tensor_names(model: Path) -> set[str]:
    """The tensor names of a packaged model (TFLite: every tensor; ONNX: every node output and input)."""
    if model.suffix == ".onnx":
        import onnx

        graph = onnx.load(str(model), load_external_data=False).graph
        return {o for n in graph.node for o in n.output} | {i.name for i in graph.input}
    from zookit.libs import load

    interpreter = load("ai_edge_litert.interpreter").Interpreter(model_path=str(model))
    return {d["name"] for d in interpreter.get_tensor_details()}


def model_output_names(model: Path) -> list[str]:
    """The packaged model's output tensor names, as its file spells them (tf2onnx writes 'dense:0')."""
    if model.suffix == ".onnx":
        from zookit.graphs import load_onnx

        return [o.name for o in load_onnx(model).graph.output]
    from zookit.graphs import TfliteModel

    tflite = TfliteModel(model)
    outputs = tflite.graph.OutputsAsNumpy() if tflite.graph.OutputsLength() else []
    return [tflite.name(int(i)) for i in outputs]


def check_16bit_names(recipe: Recipe, model: Path) -> None:
    """Every name of the recipe's 16-bit lists is a tensor of the packaged model (TI matches by name and
    ignores a name it does not find), else a UsageError naming the closest ones."""
    import difflib

    assert recipe.tidl is not None
    lists = sixteen_bit(recipe.tidl)
    if not lists:
        return
    known = model_tensor_names(model)
    for field, names in lists.items():
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
                hint = f"; closest: {', '.join(close)}" if close else ""
                raise UsageError(
                    f"{recipe.name}: tidl.{field}: {name!r} is not a tensor of {model.name}{hint}"
                )
