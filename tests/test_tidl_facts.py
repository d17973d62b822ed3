"""TIDL packages against TI's own rules: one test per fact of issue #10.

The schemas here carry TI's field sets (names and numbers from TI's tidl_meta_arch.proto as TI's docs
print it, and from the TF OD API protos TI bundles, with TI's box_input/class_input), built at run time
like zookit.deploy.tidl.protos builds its own; TI's own published files parse under them, so they are no stricter
than TI's parser, and every file zookit writes must parse under them too.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import standins
from conftest import FileServer, write_recipe
from test_convert import again, make_images, mobilenet_tgz, real_recipe, serve_source
from test_detection import r34_recipe, tiny_ssd, zoo
from test_run import zoo_run
from zookit.data import default_images, image_files
from zookit.deploy.tidl.protos import Fields, build_message_class

pytestmark = pytest.mark.slow

# --- TI's field sets -----------------------------------------------------------------------------

TI_META_ARCH: dict[str, Fields] = {
    "TIDLMetaArch": [("name", 1, "string", False, None), ("caffe_ssd", 2, "TidlMaCaffeSsd", True, None)],
    "TidlMaCaffeSsd": [
        ("box_input", 1, "string", True, None),
        ("class_input", 2, "string", True, None),
        ("output", 3, "string", True, None),
        ("name", 4, "string", False, None),
        ("in_width", 5, "uint32", False, None),
        ("in_height", 6, "uint32", False, None),
        ("score_converter", 7, "TIDLScoreConverter", False, "SOFTMAX"),
        ("prior_box_param", 8, "PriorBoxParameter", True, None),
        ("detection_output_param", 9, "TIDLOdPostProc", False, None),
        ("data_layout", 10, "TIDLAnchorDataLayout", False, "SEPARATED"),
        ("framework", 11, "string", False, None),
    ],
    "PriorBoxParameter": [
        ("min_size", 1, "float", True, None),
        ("max_size", 2, "float", True, None),
        ("aspect_ratio", 3, "float", True, None),
        ("flip", 4, "bool", False, "true"),
        ("clip", 5, "bool", False, "false"),
        ("variance", 6, "float", True, None),
        ("img_size", 7, "uint32", False, None),
        ("img_h", 8, "uint32", False, None),
        ("img_w", 9, "uint32", False, None),
        ("step", 10, "float", False, None),
        ("step_h", 11, "float", False, None),
        ("step_w", 12, "float", False, None),
        ("offset", 13, "float", False, "0.5"),
    ],
    "TIDLOdPostProc": [
        ("num_classes", 1, "uint32", False, None),
        ("share_location", 2, "bool", False, "true"),
        ("background_label_id", 3, "int32", False, "0"),
        ("nms_param", 4, "TIDLNmsParam", False, None),
        ("code_type", 6, "TIDLBoxCodeType", False, "CORNER"),
        ("keep_top_k", 7, "int32", False, "-1"),
        ("variance_encoded_in_target", 8, "bool", False, "false"),
        ("confidence_threshold", 9, "float", False, None),
    ],
    "TIDLNmsParam": [
        ("nms_threshold", 1, "float", False, "0.3"),
        ("top_k", 2, "int32", False, None),
        ("top_k_all_class", 3, "int32", False, "-1"),
        ("eta", 4, "float", False, "1.0"),
    ],
}
TI_META_ENUMS = {
    "TIDLBoxCodeType": [
        "CORNER=1",
        "CENTER_SIZE=2",
        "CORNER_SIZE=3",
        "CENTER_SIZE_EXP=4",
        "CENTER_SIZE_YXHW=5",
    ],
    "TIDLScoreConverter": ["IDENTITY=0", "SIGMOID=1", "SOFTMAX=2"],
    "TIDLAnchorDataLayout": ["SEPARATED=0", "INTERLEAVED=1"],
}
# TF OD API (TF 1.x era, as bundled with TIDL) with TI's box_input/class_input in Ssd; only the
# messages an SSD pipeline config of TI's examples uses.
TI_OBJECT_DETECTION: dict[str, Fields] = {
    "TrainEvalPipelineConfig": [("model", 1, "DetectionModel", False, None)],
    "DetectionModel": [("ssd", 2, "Ssd", False, None)],
    "Ssd": [
        ("num_classes", 1, "int32", False, None),
        ("image_resizer", 2, "ImageResizer", False, None),
        ("box_coder", 4, "BoxCoder", False, None),
        ("anchor_generator", 8, "AnchorGenerator", False, None),
        ("post_processing", 9, "PostProcessing", False, None),
        ("encode_background_as_zeros", 12, "bool", False, None),
        ("box_input", 101, "string", True, None),
        ("class_input", 102, "string", True, None),
    ],
    "ImageResizer": [("fixed_shape_resizer", 2, "FixedShapeResizer", False, None)],
    "FixedShapeResizer": [("height", 1, "int32", False, None), ("width", 2, "int32", False, None)],
    "BoxCoder": [("faster_rcnn_box_coder", 1, "FasterRcnnBoxCoder", False, None)],
    "FasterRcnnBoxCoder": [
        ("y_scale", 1, "float", False, None),
        ("x_scale", 2, "float", False, None),
        ("height_scale", 3, "float", False, None),
        ("width_scale", 4, "float", False, None),
    ],
    "AnchorGenerator": [("ssd_anchor_generator", 2, "SsdAnchorGenerator", False, None)],
    "SsdAnchorGenerator": [
        ("num_layers", 1, "int32", False, None),
        ("min_scale", 2, "float", False, None),
        ("max_scale", 3, "float", False, None),
        ("aspect_ratios", 4, "float", True, None),
        ("reduce_boxes_in_lowest_layer", 5, "bool", False, None),
        ("interpolated_scale_aspect_ratio", 13, "float", False, None),
    ],
    "PostProcessing": [
        ("batch_non_max_suppression", 1, "BatchNonMaxSuppression", False, None),
        ("score_converter", 2, "ScoreConverter", False, None),
    ],
    "BatchNonMaxSuppression": [
        ("score_threshold", 1, "float", False, None),
        ("iou_threshold", 2, "float", False, None),
        ("max_detections_per_class", 3, "int32", False, None),
        ("max_total_detections", 5, "int32", False, None),
        ("use_static_shapes", 6, "bool", False, None),
    ],
}
TI_OD_ENUMS = {"ScoreConverter": ["IDENTITY=0", "SIGMOID=1", "SOFTMAX=2"]}

# TI's own files (edgeai-modelzoo's MLPerf SSD-MobileNet config; the caffe_ssd sample of
# tidl_fsg_od_meta_arch.md, first head only), to show the schemas accept what TI writes.
TI_MLPERF_PIPELINE = """model { ssd { num_classes: 90
  image_resizer { fixed_shape_resizer { height: 300 width: 300 } }
  box_coder { faster_rcnn_box_coder { y_scale: 10.0 x_scale: 10.0 height_scale: 5.0 width_scale: 5.0 } }
  anchor_generator { ssd_anchor_generator { num_layers: 6 min_scale: 0.20000000298 max_scale: 0.949999988079
    aspect_ratios: 1.0 aspect_ratios: 2.0 aspect_ratios: 0.5 aspect_ratios: 3.0 aspect_ratios: 0.333299994469 } }
  post_processing { batch_non_max_suppression { score_threshold: 0.05 iou_threshold: 0.5
    max_detections_per_class: 500 max_total_detections: 200 } score_converter: SIGMOID }
  encode_background_as_zeros: true } }
"""
TI_DOC_META_ARCH = """name: "ssd"
caffe_ssd { box_input: "Conv_338" class_input: "Conv_349" output: "bboxes" output: "labels" output: "scores"
  in_width: 1200 in_height: 1200
  prior_box_param { min_size: 84.0 max_size: 180.0 aspect_ratio: 2.0 flip: true clip: false
    variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 step: 24.0 }
  detection_output_param { num_classes: 81 share_location: true background_label_id: 0
    nms_param { nms_threshold: 0.5 top_k: 200 } code_type: CENTER_SIZE keep_top_k: 200 confidence_threshold: 0.3 }
  data_layout: INTERLEAVED }
"""


def ti_parse(kind: str, text: str) -> Any:
    from google.protobuf import text_format

    if kind == "meta_arch":
        cls = build_message_class("ti_meta_arch", "TIDLMetaArch", TI_META_ARCH, TI_META_ENUMS)
    else:
        cls = build_message_class("ti_od", "TrainEvalPipelineConfig", TI_OBJECT_DETECTION, TI_OD_ENUMS)
    return text_format.Parse(text, cls())


def ti_config(path: Path) -> dict[str, list[str]]:
    """TI's import-config reading: ``key = value`` with the value split into items on white space, a
    quoted string being one item (so ``"127.5 127.5 127.5"`` is one value)."""
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = shlex.split(value)
    return out


def test_ti_schemas_accept_tis_own_files() -> None:
    from google.protobuf import text_format

    assert ti_parse("od", TI_MLPERF_PIPELINE).model.ssd.num_classes == 90
    assert list(ti_parse("meta_arch", TI_DOC_META_ARCH).caffe_ssd[0].output) == ["bboxes", "labels", "scores"]
    with pytest.raises(text_format.ParseError, match="use_class_agnostic_nms"):
        ti_parse(
            "od",
            "model { ssd { post_processing { batch_non_max_suppression { use_class_agnostic_nms: true } } } }",
        )


# --- 1. ResNet34-SSD1200: the three-output model, and a prototxt whose outputs are its outputs --------


def test_r34_package_is_the_whole_model_and_the_prototxt_names_its_outputs(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnx

    doc = r34_recipe(server, tmp_path)
    result = zoo(tmp_path, [doc], capsys, "tidl")
    assert result["exit"] == 0, result
    folder = tmp_path / "zoo" / "resnet34_ssd1200" / "tidl"
    model = onnx.load(str(folder / "resnet34_ssd1200.onnx"))
    meta = ti_parse("meta_arch", (folder / "resnet34_ssd1200_meta_arch.prototxt").read_text()).caffe_ssd[0]
    # TIDL_readMetaArchInfo: the number of outputs in the prototxt equals the graph's
    assert list(meta.output) == [o.name for o in model.graph.output] == ["bboxes", "labels", "scores"]
    assert [o.type.tensor_type.elem_type for o in model.graph.output] == [1, 7, 1]
    tensors = {o for n in model.graph.node for o in n.output}
    assert set(meta.box_input) | set(meta.class_input) <= tensors  # the heads are tensors of this graph
    assert {n.name for n in model.graph.node} >= set(meta.box_input)  # and node names, as in TI's sample
    manifest = json.loads((tmp_path / "zoo" / "resnet34_ssd1200" / "onnx" / "manifest.json").read_text())
    verification = manifest["verification"]
    # checked against the source model: seeded random inputs and the shipped pictures
    assert verification["passed"] and verification["samples"] == 4 + len(image_files(default_images()))
    assert verification["outputs"]["scores"]["max_abs"] < 1e-5
    # what comes after the heads is reported as replaced by the meta architecture, not as a problem
    check = json.loads((folder / "check.json").read_text())["findings"]
    assert {f["op"] for f in check} >= {"NonMaxSuppression"} and all(f["accelerated"] for f in check)

    # Packaging the cut model for meta_arch_type 3 is refused with the reason and the fix.
    doc["tidl"]["target"] = "onnx-heads"
    (tmp_path / "recipes" / "resnet34_ssd1200.yaml").unlink()
    again = zoo(tmp_path, [doc], capsys, "tidl")
    assert again["exit"] == 1
    error = again["packages"][0]["error"]
    assert "exactly three outputs" in error and "has 12" in error and "postprocess: true" in error


# --- 2. per-channel values as TI's parser reads them -----------------------------------------------


def test_import_config_per_channel_values_are_bare(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = real_recipe("resnet50_v1")
    serve_source(doc, server, "resnet50_v1.pb", standins.resnet50_like(tmp_path / "r.pb"))
    assert zoo(tmp_path, [doc], capsys, "tidl")["exit"] == 0
    config = ti_config(tmp_path / "zoo" / "resnet50_v1" / "tidl" / "tidl_import_resnet50_v1.txt")
    assert [float(v) for v in config["inMean"]] == [123.675, 116.28, 103.53]
    assert [float(v) for v in config["inScale"]] == [1.0, 1.0, 1.0]
    assert config["inputNetFile"] == ["resnet50_v1.tflite"]


# --- 3. SSD-MobileNet: a pipeline config in TI's field set, with the head convolutions -------------


def test_ssd_pipeline_config_parses_under_tis_protos_and_names_the_heads(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zookit.graphs import TfliteModel

    result = zoo(tmp_path, [tiny_ssd(tmp_path, server)], capsys, "tidl")
    assert result["exit"] == 0, result
    folder = tmp_path / "zoo" / "ssd_mobilenet_v1" / "tidl"
    ssd = ti_parse("od", (folder / "ssd_mobilenet_v1_pipeline.config").read_text()).model.ssd
    assert len(ssd.box_input) == len(ssd.class_input) == 6
    model = TfliteModel(folder / "ssd_mobilenet_v1.tflite")
    names = {model.name(t) for op in model.ops for t in op.outputs if op.name == "CONV_2D"}
    assert set(ssd.box_input) | set(ssd.class_input) <= names
    assert all("BoxEncodingPredictor" in b for b in ssd.box_input)
    assert all("ClassPredictor" in c for c in ssd.class_input)
    assert ssd.post_processing.score_converter == 1 and ssd.encode_background_as_zeros
    config = ti_config(folder / "tidl_import_ssd_mobilenet_v1.txt")
    assert config["metaArchType"] == ["1"]
    assert config["metaLayersNamesList"] == ["ssd_mobilenet_v1_pipeline.config"]
    assert "outDataNamesList" not in config


# --- 4. runtime options TI's compile step accepts ----------------------------------------------------


def test_runtime_options_carry_what_tis_compile_step_requires(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tidl_tools_folder(tmp_path / "tidl_tools")
    monkeypatch.delenv("TIDL_TOOLS_PATH", raising=False)
    doc = r34_recipe(server, tmp_path)
    first = zoo(tmp_path, [doc], capsys, "tidl")
    folder = tmp_path / "zoo" / "resnet34_ssd1200" / "tidl"
    options = json.loads((folder / "runtime_options.json").read_text())
    assert "tidl_tools_path" not in options  # unknown: said so, not filled with a guess
    package = first["packages"][0]
    assert package["tools_path"] is None and "tidl_tools_path" in package["missing"][0]
    assert "**Not ready to import**" in (folder / "README.md").read_text()
    assert options["artifacts_folder"] == "artifacts"
    assert (folder / "artifacts").is_dir() and not list((folder / "artifacts").iterdir())  # exists, empty
    assert (folder / options["object_detection:meta_layers_names_list"]).is_file()  # relative to the package
    assert options["object_detection:meta_arch_type"] == 3
    assert options["accuracy_level"] in TI_ACCURACY_LEVELS and options["debug_level"] == 0
    assert options["advanced_options:add_data_convert_ops"] == 3
    assert options["advanced_options:quantization_scale_type"] == 0  # a float model

    monkeypatch.setenv("TIDL_TOOLS_PATH", str(tools))
    code, result = again(tmp_path, capsys, "tidl", "resnet34_ssd1200")
    assert code == 0
    options = json.loads((folder / "runtime_options.json").read_text())
    assert options["tidl_tools_path"] == str(tools.resolve()) and result["packages"][0]["ready_to_import"]
    from zookit.__main__ import main

    assert (
        main(["tidl", "resnet34_ssd1200", "--tidl-tools", str(tools / "nope"), "--zoo-dir", str(tmp_path)])
        == 2
    )
    assert "--tidl-tools" in capsys.readouterr().err


# --- 5. preprocessing: the shorter side, not a square stretch --------------------------------------


def test_calibration_images_keep_the_aspect_ratio_as_the_recipe_says(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tensorflow as tf

    doc = real_recipe("mobilenet_v1")
    serve_source(
        doc,
        server,
        "mobilenet_v1_1.0_224.tgz",
        mobilenet_tgz(standins.mobilenet_like(tmp_path / "m.pb"), b"i\n"),
    )
    images = tmp_path / "wide"
    images.mkdir()
    yy, xx = np.mgrid[0:300, 0:600]  # 2:1, a clear test of aspect ratio
    pixels = np.stack([xx % 256, yy % 256, (xx // 3) % 256], -1).astype(np.uint8)
    (images / "wide.png").write_bytes(tf.io.encode_png(pixels).numpy())
    assert zoo(tmp_path, [doc], capsys, "tidl", "--calibration-images", str(images))["exit"] == 0
    folder = tmp_path / "zoo" / "mobilenet_v1" / "tidl"
    written = tf.io.decode_png((folder / "calibration" / "wide.png").read_bytes()).numpy()
    # shorter side to 256 (300x600 -> 256x512), then the central 224x224
    expected = tf.image.resize(pixels.astype(np.float32), (256, 512)).numpy()[16:240, 144:368]
    assert written.shape == (224, 224, 3)
    assert np.abs(written.astype(np.float32) - np.round(expected)).max() <= 1
    config = ti_config(folder / "tidl_import_mobilenet_v1.txt")
    assert config["resizeWidth"] == config["inWidth"] == ["224"]
    readme = (folder / "README.md").read_text()
    assert "shorter side is 256 (aspect ratio kept), then the central 224x224 crop" in readme
    record = json.loads((folder / "package.json").read_text())["preprocessing"]
    assert record["resize"] == 256 and record["resize_keeps_aspect_ratio"] and record["crop"] == [224, 224]


# --- 6. zoo check on TI's allow-list -----------------------------------------------------------------


def onnx_probe(path: Path) -> Path:
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.array([2], np.int64), "k"),
        numpy_helper.from_array(np.array([1, 48], np.int64), "shape"),
        numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float32), "w"),
    ]
    nodes = [
        helper.make_node("Cast", ["x_u8"], ["x"], to=TensorProto.FLOAT, name="cast_at_input"),
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1], name="conv"),
        helper.make_node("ReduceMean", ["c"], ["rm"], axes=[1], keepdims=1, name="reduce_mean"),
        helper.make_node("Dropout", ["c"], ["d"], name="dropout"),
        helper.make_node("TopK", ["d", "k"], ["tv", "ti"], axis=-1, name="topk_width"),
        helper.make_node("TopK", ["d", "k"], ["hv", "hi"], axis=-2, name="topk_height"),
        helper.make_node("Reshape", ["c", "shape"], ["r"], allowzero=1, name="reshape_allowzero"),
        helper.make_node(
            "ArgMax", ["c"], ["am"], axis=1, keepdims=1, select_last_index=1, name="argmax_last"
        ),
        helper.make_node("ArgMax", ["c"], ["am2"], axis=1, keepdims=1, name="argmax_channels"),
        helper.make_node(
            "QLinearSigmoid",
            ["x_u8", "s", "z", "s", "z"],
            ["q"],
            domain="com.microsoft",
            name="qlinear_sigmoid",
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "probe",
        [
            helper.make_tensor_value_info("x_u8", TensorProto.UINT8, [1, 3, 4, 4]),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("z", TensorProto.UINT8, []),
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("rm", "tv", "hv", "r")]
        + [helper.make_tensor_value_info(n, TensorProto.INT64, None) for n in ("am", "am2")]
        + [helper.make_tensor_value_info("q", TensorProto.UINT8, None)],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]
    )
    path.write_bytes(model.SerializeToString())
    return path


def test_check_onnx_probes_against_tis_allow_list(tmp_path: Path) -> None:
    from zookit.deploy.tidl.check import check_model

    found = {f.node: f.reason for f in check_model(onnx_probe(tmp_path / "probe.onnx"))}
    assert set(found) == {
        "reduce_mean",
        "dropout",
        "topk_width",
        "reshape_allowzero",
        "argmax_last",
        "qlinear_sigmoid",
    }
    assert "layer norm" in found["reduce_mean"] and "individual operator" in found["dropout"]
    assert "height" in found["topk_width"] and "allowzero" in found["reshape_allowzero"]
    assert "select_last_index" in found["argmax_last"] and "com.microsoft" in found["qlinear_sigmoid"]


def tflite_probe(path: Path) -> Path:
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 4], tf.float32)])
    def probe(x: Any) -> Any:
        channels = tf.argmax(x, axis=-1, output_type=tf.int32)  # ARG_MAX over the channels
        height = tf.argmax(x, axis=1, output_type=tf.int32)  # ARG_MAX over the height
        scaled = tf.cast(channels, tf.float32) * 2.0  # CAST in the middle of the graph
        soft = tf.nn.softmax(x)  # SOFTMAX over the channels
        top = tf.math.top_k(tf.reshape(soft, [1, 256]), k=3)  # TOPK_V2
        picked = tf.gather(tf.reshape(x, [256]), top.indices[0])  # GATHER
        return scaled, height, picked

    converter = tf.lite.TFLiteConverter.from_concrete_functions([probe.get_concrete_function()], probe)
    path.write_bytes(converter.convert())
    return path


def test_check_tflite_probes_against_tis_allow_list(tmp_path: Path) -> None:
    from zookit.deploy.tidl.check import check_model

    findings = check_model(tflite_probe(tmp_path / "probe.tflite"))
    flagged: dict[str, list[str]] = {}
    for f in findings:
        flagged.setdefault(f.op, []).append(f.reason)
    assert set(flagged) == {"ARG_MAX", "TOPK_V2", "GATHER"}, flagged
    assert len(flagged["ARG_MAX"]) == 1 and "axis 1" in flagged["ARG_MAX"][0]  # the height one only
    assert "not in TI's supported-operator table" in flagged["TOPK_V2"][0]


def test_check_refuses_empty_and_foreign_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zookit.__main__ import main

    for name, data in (
        ("empty.onnx", b""),
        ("text.onnx", b"hello, not protobuf\n"),
        ("empty.tflite", b""),
        ("text.tflite", b"not a flatbuffer at all"),
    ):
        (tmp_path / name).write_bytes(data)
        assert main(["check", "--strict", str(tmp_path / name)]) == 1, name
        err = capsys.readouterr().err
        assert name in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_postprocess_op_fed_without_the_head_pattern_runs_on_arm(tmp_path: Path) -> None:
    import tensorflow as tf

    from zookit.convert.ssd import add_postprocess, recipe_anchors
    from zookit.deploy.tidl.check import check_model
    from zookit.recipe import parse_recipe

    recipe = parse_recipe(real_recipe("ssd_mobilenet_v1"), "r")
    rng = np.random.default_rng(0)
    graph = tf.Graph()
    with graph.as_default():  # heads from a dense layer, not from convolutions
        x = tf.compat.v1.placeholder(tf.float32, [1, 8], name="features")
        boxes = tf.reshape(tf.matmul(x, rng.normal(0, 0.1, (8, 1917 * 4)).astype(np.float32)), [1, 1917, 4])
        tf.identity(boxes, name="Squeeze")
        logits = tf.reshape(
            tf.matmul(x, rng.normal(0, 0.1, (8, 1917 * 91)).astype(np.float32)), [1, 1917, 91]
        )
        tf.sigmoid(logits, name="Postprocessor/convert_scores")
    graph_def = add_postprocess(graph.as_graph_def(), recipe, recipe_anchors(recipe))
    frozen = tmp_path / "g.pb"
    frozen.write_bytes(graph_def.SerializeToString())
    converter = tf.compat.v1.lite.TFLiteConverter.from_frozen_graph(
        str(frozen), ["features"], ["TFLite_Detection_PostProcess"], {"features": [1, 8]}
    )
    converter.allow_custom_ops = True
    model = tmp_path / "dense_ssd.tflite"
    model.write_bytes(converter.convert())
    [finding] = [f for f in check_model(model) if f.op == "TFLite_Detection_PostProcess"]
    assert not finding.accelerated and "runs on ARM" in finding.reason


# --- 7. calibration images are checked before they go into a package ----------------------------------


def test_broken_calibration_images_are_refused(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = real_recipe("mobilenet_v1")
    serve_source(
        doc,
        server,
        "mobilenet_v1_1.0_224.tgz",
        mobilenet_tgz(standins.mobilenet_like(tmp_path / "m.pb"), b"i\n"),
    )
    good = make_images(tmp_path / "good", count=2)
    assert zoo(tmp_path, [doc], capsys, "tidl", "--calibration-images", str(good))["exit"] == 0
    folder = tmp_path / "zoo" / "mobilenet_v1" / "tidl"
    before = (folder / "package.json").read_text()
    for name, data in (("cut.jpg", (good / "img0.jpg").read_bytes()[:600]), ("notes.jpg", b"just text\n")):
        bad = tmp_path / f"bad-{name}"
        bad.mkdir()
        (bad / "img0.jpg").write_bytes((good / "img0.jpg").read_bytes())
        (bad / name).write_bytes(data)
        code, result = again(tmp_path, capsys, "tidl", "mobilenet_v1", "--calibration-images", str(bad))
        assert code != 0
        assert name in result["packages"][0]["error"] and "cannot decode" in result["packages"][0]["error"]
        assert (folder / "package.json").read_text() == before  # the complete package was kept as it was


# --- issue #19: the written files against TI's option values -------------------------------------------
# Copied from TI's files (the oracle; nothing here is read from zookit):
# edgeai-tidl-tools 11_00_06_00 examples/osrt_python/README.md ("README" below)
TI_ACCURACY_LEVELS = {0, 1, 2, 9}  # README:125
TI_SCALE_TYPE_TFLITE_PREQUANTIZED = 3  # README:195
TI_DATA_CONVERT = {0, 1, 2, 3}  # README:199
# README:141: TFLite models take "registration code as specified in tflite builtin ops" (TensorFlow r2.3
# tensorflow/lite/builtin_ops.h: kTfLiteBuiltinAveragePool2d = 1, kTfLiteBuiltinConcatenation = 2,
# kTfLiteBuiltinMean = 40), e.g. "1, 2"; README:142: ONNX models take the operator name ("MaxPool").
TI_TFLITE_CODES = {"AVERAGE_POOL_2D": 1, "CONCATENATION": 2, "MEAN": 40}
# examples/jupyter_notebooks/colab/tidlrt_tools.ipynb lines 175 and 252-254: the four helpers inside tidl_tools
TI_LEGACY_TOOLS = {
    "tidlStatsTool": "PC_dsp_test_dl_algo.out",
    "perfSimTool": "ti_cnnperfsim.out",
    "graphVizTool": "tidl_graphVisualiser.out",
    "perfSimConfig": "device_config.cfg",
}
# TIDL 08_06_00_10 tidl_runtimes_import_common.cpp: accuracy_level -> calibrationOption (TIDL_readInterfaceOptions
# valid_calibs {"0": 64, "1": 7}; 9 from TIDL_derivedInterfaceOptions with TI's default advanced options,
# README:186-189 activation_clipping 1, weight_clipping 1, bias_calibration 1, channel_wise_quantization 0, and
# bias_clipping 0, weighted 1, 2, 4, 8, 64); 2 has no published value.
TI_CALIBRATION_OPTION = {0: 64, 1: 7, 9: 1 * 1 + 1 * 2 + 1 * 4 + 0 * 8 + 0 * 64}


# The TFLite route's delegate inside tidl_tools: examples/osrt_python/tfl/tflrt_delegate.py:300
TI_TFLITE_DELEGATE = "tidl_model_import_tflite.so"
# TIDL itidl_ti.h quantization styles and TI's compile-step map of quantization_scale_type onto them
# (tidl_runtimes_import_common.cpp, TIDL_readInterfaceOptions): "0" NP2Fixed 2, "1" P2Dynamic 3,
# "3" AsymNP2_TFL 5, "4" AsymNP2 6
TI_QUANTIZATION_STYLE = {0: 2, 1: 3, 3: 5, 4: 6}


def tidl_tools_folder(folder: Path) -> Path:
    """A folder holding the files of TI's tidl_tools the package names (empty files: only their presence is
    checked here; TI's tools are not on this machine)."""
    folder.mkdir()
    for name in [TI_TFLITE_DELEGATE, *TI_LEGACY_TOOLS.values()]:
        (folder / name).write_bytes(b"")
    return folder


def ti_comma_list(value: str) -> list[str]:
    """TI's reading of a comma-separated option (TIDL_readCommaSeparatedString: split on ',', spaces removed)."""
    return [token.replace(" ", "") for token in value.split(",")]


def mobilenet(
    server: FileServer, tmp_path: Path, targets: tuple[str, ...] = ("tflite-float32",), **tidl: Any
) -> dict[str, Any]:
    """The MobileNet recipe on a small stand-in, with only ``targets`` and the ``tidl`` settings changed."""
    doc = real_recipe("mobilenet_v1")
    frozen = standins.mobilenet_like(tmp_path / "m.pb")
    serve_source(doc, server, "mobilenet_v1_1.0_224.tgz", mobilenet_tgz(frozen, b"i\n"))
    doc["targets"] = [t for t in doc["targets"] if t["name"] in targets]
    if "onnx" not in targets:
        doc.pop("openvino", None)  # its ONNX target is cut
    doc["tidl"].update(tidl)
    return doc


def written(tmp_path: Path, name: str) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, Any]]:
    """runtime_options.json, the import config (as TI's parser reads it) and package.json of a package."""
    folder = tmp_path / "zoo" / name / "tidl"
    return (
        json.loads((folder / "runtime_options.json").read_text()),
        ti_config(folder / f"tidl_import_{name}.txt"),
        json.loads((folder / "package.json").read_text()),
    )


def test_19_2_accuracy_level_2_is_taken_and_written(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zookit.errors import RecipeError
    from zookit.recipe import parse_recipe

    result = zoo(tmp_path, [mobilenet(server, tmp_path, accuracy_level=2)], capsys, "tidl")
    assert result["exit"] == 0, result
    options, config, package = written(tmp_path, "mobilenet_v1")
    assert options["accuracy_level"] == 2 and options["accuracy_level"] in TI_ACCURACY_LEVELS
    # no published calibrationOption for 2: none is guessed, and the package says what that means
    assert 2 not in TI_CALIBRATION_OPTION and "calibrationOption" not in config
    assert "11.0" in package["notes"][0] and "calibrationOption" in package["notes"][0]
    doc = real_recipe("mobilenet_v1")
    doc["tidl"]["accuracy_level"] = 3  # not one of TI's
    with pytest.raises(RecipeError, match=r"tidl\.accuracy_level: Input should be 0, 1, 2 or 9"):
        parse_recipe(doc, "recipes/mobilenet_v1.yaml")


def test_19_3_deny_list_holds_tflite_codes_for_tflite_and_operator_names_for_onnx(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    denied = ["AVERAGE_POOL_2D", "CONCATENATION", "MEAN"]
    result = zoo(tmp_path / "t", [mobilenet(server, tmp_path, deny_list_layer_types=denied)], capsys, "tidl")
    assert result["exit"] == 0, result
    value = written(tmp_path / "t", "mobilenet_v1")[0]["deny_list:layer_type"]
    assert value == "1, 2, 40"  # the form of TI's example, "1, 2"
    assert [int(code) for code in ti_comma_list(value)] == [TI_TFLITE_CODES[n] for n in denied]

    r34 = r34_recipe(server, tmp_path)
    r34["tidl"]["deny_list_layer_types"] = ["MaxPool", "Concat"]
    result = zoo(tmp_path / "o", [r34], capsys, "tidl")
    assert result["exit"] == 0, result
    value = written(tmp_path / "o", "resnet34_ssd1200")[0]["deny_list:layer_type"]
    assert ti_comma_list(value) == ["MaxPool", "Concat"]


def test_19_3_deny_list_names_outside_the_targets_operator_set_are_recipe_errors() -> None:
    from zookit.errors import RecipeError
    from zookit.recipe import parse_recipe

    doc = real_recipe("mobilenet_v1")  # tidl.target tflite-float32
    doc["tidl"]["deny_list_layer_types"] = ["MEAN", "MaxPool"]
    with pytest.raises(RecipeError) as tflite:
        parse_recipe(doc, "recipes/mobilenet_v1.yaml")
    assert str(tflite.value).count("tidl.deny_list_layer_types") == 1
    assert "recipes/mobilenet_v1.yaml" in str(tflite.value)
    assert "tidl.deny_list_layer_types[1]: 'MaxPool' is not a TFLite builtin operator" in str(tflite.value)
    assert "did you mean 'MAX_POOL_2D'?" in str(tflite.value)
    doc["tidl"].update(target="onnx", deny_list_layer_types=["maxpool"])
    with pytest.raises(
        RecipeError, match=r"\[0\]: 'maxpool' is not an ONNX operator type.*did you mean 'MaxPool'"
    ):
        parse_recipe(doc, "recipes/mobilenet_v1.yaml")


def test_19_4_prequantized_tflite_gets_scale_type_3_without_data_conversion(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = mobilenet(server, tmp_path, ("tflite-float32", "tflite-int8"), target="tflite-int8")
    doc["targets"][1]["tolerance"]["top1_agreement"] = 0.0  # random weights: top-1 is noise (test_convert)
    result = zoo(tmp_path, [doc], capsys, "tidl")
    assert result["exit"] == 0, result
    options = written(tmp_path, "mobilenet_v1")[0]
    assert options["advanced_options:quantization_scale_type"] == TI_SCALE_TYPE_TFLITE_PREQUANTIZED
    # TI's rule, examples/osrt_python/common_utils.py:90-91: scale type 3 -> data_convert = 0
    assert options["advanced_options:add_data_convert_ops"] == 0
    # #29 4a: the legacy config says the same (its default, NP2Fixed 2, is not pre-quantized)
    config = written(tmp_path, "mobilenet_v1")[1]
    assert config["quantizationStyle"] == [str(TI_QUANTIZATION_STYLE[3])] == ["5"]

    doc["tidl"]["target"] = "tflite-float32"  # the float model keeps TI's default of that file (line 88: 3)
    write_recipe(tmp_path / "recipes", doc)
    code, result = again(tmp_path, capsys, "tidl", "mobilenet_v1")
    assert code == 0, result
    options, config, _ = written(tmp_path, "mobilenet_v1")
    assert options["advanced_options:quantization_scale_type"] == 0
    assert options["advanced_options:add_data_convert_ops"] == 3 and 3 in TI_DATA_CONVERT
    assert config["quantizationStyle"] == [str(TI_QUANTIZATION_STYLE[0])]


def test_19_5_the_import_configs_output_folder_exists(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = zoo(tmp_path, [tiny_ssd(tmp_path, server)], capsys, "tidl")
    assert result["exit"] == 0, result
    folder = tmp_path / "zoo" / "ssd_mobilenet_v1" / "tidl"
    config = ti_config(folder / "tidl_import_ssd_mobilenet_v1.txt")
    # TI's import tool opens these for writing and makes no folder (TI's notebook makes it first, line 124)
    for key in ("outputNetFile", "outputParamsFile"):
        (value,) = config[key]
        assert (folder / value).parent.is_dir(), key
    for key in ("inputNetFile", "inData", "metaLayersNamesList"):  # what it reads is there
        assert (folder / config[key][0]).is_file(), key


def test_19_6_legacy_config_names_tis_tools_and_calibrates_as_the_runtime_options(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIDL_TOOLS_PATH", raising=False)
    tools = tidl_tools_folder(tmp_path / "tidl_tools")
    doc = mobilenet(server, tmp_path)
    assert zoo(tmp_path, [doc], capsys, "tidl", "--tidl-tools", str(tools))["exit"] == 0
    options, config, _ = written(tmp_path, "mobilenet_v1")
    for key, name in TI_LEGACY_TOOLS.items():
        assert config[key] == [str(tools.resolve() / name)], key
    assert options["tidl_tools_path"] == str(tools.resolve())
    for level in (1, 0, 9):
        doc["tidl"]["accuracy_level"] = level
        write_recipe(tmp_path / "recipes", doc)
        code, result = again(tmp_path, capsys, "tidl", "mobilenet_v1")
        assert code == 0 and not result["packages"][0]["converted"], result
        options, config, _ = written(tmp_path, "mobilenet_v1")
        assert options["accuracy_level"] == level
        assert config["calibrationOption"] == [str(TI_CALIBRATION_OPTION[level])], level
        # TIDL_runtimesPostProcessNet: the same frames and iterations as the runtime options
        assert config["numFramesBiasCalibration"] == [str(options["advanced_options:calibration_frames"])]
        assert config["biasCalibrationIterations"] == [
            str(options["advanced_options:calibration_iterations"])
        ]
        assert config["tidlStatsTool"] == [str(tools.resolve() / "PC_dsp_test_dl_algo.out")]  # kept


def test_19_7_without_the_tools_folder_the_package_is_not_ready_and_says_how_to_fill_it_in(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from zookit.__main__ import main

    monkeypatch.delenv("TIDL_TOOLS_PATH", raising=False)
    first = zoo(tmp_path, [mobilenet(server, tmp_path)], capsys, "tidl")
    assert first["exit"] == 0, first
    options, config, package = written(tmp_path, "mobilenet_v1")
    assert "tidl_tools_path" not in options and not set(TI_LEGACY_TOOLS) & set(config)
    assert "complete" not in package  # one meaning: ready_to_import
    assert package["ready_to_import"] is False and len(package["missing"]) == 1
    assert "tidl_tools_path" in package["missing"][0]
    assert "`zoo tidl mobilenet_v1 --tidl-tools DIR`" in package["missing"][0]
    assert first["packages"][0]["missing"] == package["missing"]  # zoo tidl --json says the same
    argv = [
        "--recipes",
        str(tmp_path / "recipes"),
        "tidl",
        "mobilenet_v1",
        "--zoo-dir",
        str(tmp_path / "zoo"),
    ]
    assert main(argv) == 0
    assert f"not ready to import: {package['missing'][0]}" in capsys.readouterr().err

    model = tmp_path / "zoo" / "mobilenet_v1" / "tflite-float32" / "mobilenet_v1.tflite"
    converted = (model.stat().st_mtime_ns, model.read_bytes())
    tools = tidl_tools_folder(tmp_path / "tidl_tools")
    code, result = again(tmp_path, capsys, "tidl", "mobilenet_v1", "--tidl-tools", str(tools))
    assert code == 0 and not result["packages"][0]["converted"], result
    assert (model.stat().st_mtime_ns, model.read_bytes()) == converted  # the target was not converted again
    options, config, package = written(tmp_path, "mobilenet_v1")
    assert options["tidl_tools_path"] == str(tools.resolve())
    assert config["perfSimConfig"] == [str(tools.resolve() / TI_LEGACY_TOOLS["perfSimConfig"])]
    assert package["ready_to_import"] is True and package["missing"] == []

    # a run without the flag keeps the folder the package was written with: nothing is redone
    code, report, err = zoo_run(tmp_path)  # a zoo process: run's display needs real file descriptors
    assert code == 0, err
    stages = {s["stage"]: s for s in report["models"][0]["stages"]}
    assert {s["status"] for s in stages.values()} == {"skipped"}, stages
    assert stages["tidl"]["detail"]["ready_to_import"] is True and stages["tidl"]["detail"]["missing"] == []
    assert written(tmp_path, "mobilenet_v1")[0]["tidl_tools_path"] == str(tools.resolve())


def test_29_4b_4c_out_names_are_the_packaged_models_and_a_tools_folder_without_tis_files_is_not_ready(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnx

    monkeypatch.delenv("TIDL_TOOLS_PATH", raising=False)
    empty = tmp_path / "not_tidl_tools"
    empty.mkdir()
    (empty / "PC_dsp_test_dl_algo.out").write_bytes(b"")  # one of TI's files, the others absent
    doc = mobilenet(server, tmp_path, ("tflite-float32", "onnx"), target="onnx")
    result = zoo(tmp_path, [doc], capsys, "tidl", "--tidl-tools", str(empty))
    assert result["exit"] == 0, result
    _, config, package = written(tmp_path, "mobilenet_v1")
    packaged = tmp_path / "zoo" / "mobilenet_v1" / "tidl" / "mobilenet_v1.onnx"
    names = [o.name for o in onnx.load(str(packaged), load_external_data=False).graph.output]
    assert names[0].endswith(":0")  # tf2onnx's spelling, which the manifest's name leaves off
    assert ti_comma_list(config["outDataNamesList"][0]) == names
    assert package["ready_to_import"] is False and len(package["missing"]) == 1
    absent = sorted(set(TI_LEGACY_TOOLS.values()) - {"PC_dsp_test_dl_algo.out"})
    assert all(name in package["missing"][0] for name in absent)
    assert (
        "PC_dsp_test_dl_algo.out" not in package["missing"][0]
        and str(empty.resolve()) in package["missing"][0]
    )
    assert (
        TI_TFLITE_DELEGATE not in package["missing"][0]
    )  # an ONNX package does not load TI's TFLite delegate
    for name in absent:
        (empty / name).write_bytes(b"")
    code, result = again(tmp_path, capsys, "tidl", "mobilenet_v1", "--tidl-tools", str(empty))
    assert code == 0, result
    assert written(tmp_path, "mobilenet_v1")[2]["ready_to_import"] is True


# --- #21: TIDL mixed precision on the stand-in MobileNet's package -------------------------------------
# TI's option names, copied as the oracle: edgeai-tidl-tools 11_00_06_00 examples/osrt_python/README.md
# (advanced_options:output_feature_16bit_names_list, advanced_options:params_16bit_names_list) and the
# import tool's outputFeature16bitNamesList / params16bitNamesList.
TI_RUNTIME_16BIT = (
    "advanced_options:output_feature_16bit_names_list",
    "advanced_options:params_16bit_names_list",
)
TI_LEGACY_16BIT = ("outputFeature16bitNamesList", "params16bitNamesList")


def test_21_sixteen_bit_lists_land_in_both_tidl_files_and_name_tensors_of_the_packaged_model(
    server: FileServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zookit.graphs import TfliteModel

    first = zoo(tmp_path, [mobilenet(server, tmp_path)], capsys, "tidl")
    assert first["exit"] == 0, first
    packaged = tmp_path / "zoo" / "mobilenet_v1" / "tidl" / "mobilenet_v1.tflite"
    model = TfliteModel(packaged)
    convs = [model.name(op.outputs[0]) for op in model.ops if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    features, params = convs[:2], convs[-1:]
    doc = mobilenet(server, tmp_path, output_feature_16bit_names=features, params_16bit_names=params)
    again = zoo(tmp_path, [doc], capsys, "tidl")
    assert again["exit"] == 0, again
    options, config, _ = written(tmp_path, "mobilenet_v1")
    assert ti_comma_list(options[TI_RUNTIME_16BIT[0]]) == [f.replace(" ", "") for f in features]
    assert ti_comma_list(options[TI_RUNTIME_16BIT[1]]) == [p.replace(" ", "") for p in params]
    legacy = {k: " ".join(v) for k, v in config.items()}
    assert [legacy[TI_LEGACY_16BIT[0]].replace(" ", "")] == [",".join(features).replace(" ", "")]
    assert legacy[TI_LEGACY_16BIT[1]].replace(" ", "") == ",".join(params).replace(" ", "")
    names = {model.name(i) for i in range(model.graph.TensorsLength())}
    assert set(features) | set(params) <= names  # tensors of the packaged model
    bad = mobilenet(server, tmp_path, output_feature_16bit_names=["no/such/tensor"])
    refused = zoo(tmp_path, [bad], capsys, "tidl")
    assert refused["exit"] == 1 and "no/such/tensor" in json.dumps(refused)
