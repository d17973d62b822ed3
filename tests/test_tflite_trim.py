"""TFLite graphs cut at named tensors (zookit.convert.tflite_trim) and the TFLite_Detection_PostProcess
op read as facts; `zoo inspect` of Google's quantized SSD-MobileNet shows them.

Small models are written with the TFLite schema's object API (a quantized chain with a branch, and a
model ending in the post-process custom op, whose kernel LiteRT ships); the acceptance tests read the
genuine detect.tflite of ../shared."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from conftest import SHARED_MODELS
from zookit.convert.tflite_trim import load_model, pack, postprocess_facts, trim_tflite
from zookit.errors import ConversionError

DETECT = SHARED_MODELS / "genuine" / "ssd_mobilenet_v1_quant" / "detect.tflite"
needs_detect = pytest.mark.skipif(
    not DETECT.is_file(), reason=f"genuine SSD-MobileNet not present at {DETECT}"
)


def _model(
    ops: list[tuple[Any, list[int], list[int], Any]],
    tensors: list[Any],
    inputs: list[int],
    outputs: list[int],
    buffers: list[Any],
    codes: list[Any],
) -> bytes:
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT()
    model.version, model.buffers, model.operatorCodes = 3, buffers, codes
    graph = s.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs = tensors, inputs, outputs
    graph.operators = []
    for code, ins, outs, custom in ops:
        op = s.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = code, ins, outs
        if custom is not None:
            op.customOptions = list(custom)
        graph.operators.append(op)
    model.subgraphs = [graph]
    return pack(model)


def _tensor(
    name: str, shape: list[int], type_: int, buffer: int = 0, q: tuple[float, int] | None = None
) -> Any:
    from ai_edge_litert import schema_py_generated as s

    t = s.TensorT()
    t.name, t.shape, t.type, t.buffer = name.encode(), shape, type_, buffer
    if q is not None:
        t.quantization = s.QuantizationParametersT()
        t.quantization.scale, t.quantization.zeroPoint = [q[0]], [q[1]]
    return t


def _code(builtin: int | None = None, custom: str | None = None) -> Any:
    from ai_edge_litert import schema_py_generated as s

    c = s.OperatorCodeT()
    c.version = 1
    if custom:
        c.customCode, c.builtinCode, c.deprecatedBuiltinCode = custom.encode(), 32, 32
    else:
        c.builtinCode = c.deprecatedBuiltinCode = builtin
    return c


def chain_model() -> bytes:
    """x -> ADD(const) -> a (quantized) -> LOGISTIC -> b; a -> TANH -> c; outputs b and c."""
    from ai_edge_litert import schema_py_generated as s

    F, U8 = s.TensorType.FLOAT32, s.TensorType.UINT8
    const = s.BufferT()
    const.data = np.frombuffer(np.array([0.5, -1.0, 2.0, 0.0], np.float32).tobytes(), np.uint8)
    q = (0.05, 7)
    tensors = [
        _tensor("x", [1, 4], F),
        _tensor("k", [4], F, 1),
        _tensor("a", [1, 4], F),
        _tensor("aq", [1, 4], U8, 0, q),
        _tensor("a2", [1, 4], F),
        _tensor("b", [1, 4], F),
        _tensor("c", [1, 4], F),
    ]
    B = s.BuiltinOperator
    codes = [_code(B.ADD), _code(B.QUANTIZE), _code(B.DEQUANTIZE), _code(B.LOGISTIC), _code(B.TANH)]
    ops = [
        (0, [0, 1], [2], None),
        (1, [2], [3], None),
        (2, [3], [4], None),
        (3, [4], [5], None),
        (4, [4], [6], None),
    ]
    return _model(ops, tensors, [0], [5, 6], [s.BufferT(), const], codes)


def _run(model: bytes, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], feeds[d["name"]])
    it.invoke()
    return {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}


def _details(model: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=model)
    it.allocate_tensors()
    return it.get_input_details(), it.get_output_details(), len(load_model(model, "").subgraphs[0].operators)


def test_trim_at_an_output_drops_what_no_longer_feeds_it() -> None:
    whole = chain_model()
    x = np.array([[0.1, 0.2, -0.3, 1.0]], np.float32)
    cut = trim_tflite(whole, ["b"], None, "toy")
    _, outs, ops = _details(cut)
    assert [d["name"] for d in outs] == ["b"] and ops == 4  # TANH dropped
    np.testing.assert_array_equal(_run(cut, {"x": x})["b"], _run(whole, {"x": x})["b"])
    assert len(cut) < len(whole)


def test_trim_at_an_interior_input_keeps_its_quantization() -> None:
    whole = chain_model()
    cut = trim_tflite(whole, ["c"], ["aq"], "toy", {"aq": "codes"})
    ins, _, ops = _details(cut)
    assert [d["name"] for d in ins] == ["codes"] and ins[0]["dtype"] == np.uint8
    assert ins[0]["quantization"] == pytest.approx((0.05, 7)) and ops == 2  # DEQUANTIZE, TANH
    codes = np.array([[0, 7, 20, 255]], np.uint8)
    expected = np.tanh((codes.astype(np.float32) - 7) * 0.05)
    np.testing.assert_allclose(_run(cut, {"codes": codes})["c"], expected, atol=1e-6)


def test_trim_names_an_unknown_tensor_and_a_missing_input() -> None:
    whole = chain_model()
    with pytest.raises(
        ConversionError, match=r"trim.outputs: the TFLite model has no tensor 'bb'.*did you mean b"
    ):
        trim_tflite(whole, ["bb"], None, "toy")
    with pytest.raises(ConversionError, match=r"trim\.inputs: 'c' does not feed the outputs b"):
        trim_tflite(whole, ["b"], ["c"], "toy")
    with pytest.raises(ConversionError, match="the outputs also need x; name them as inputs too"):
        trim_tflite(whole, ["b"], ["k"], "toy")  # k is a constant: cutting there leaves x unnamed


def postprocess_model(options: dict[str, Any], n: int = 8, classes: int = 3) -> bytes:
    """Box encodings and class scores as inputs, a constant anchor grid, the custom op at the end."""
    from ai_edge_litert import schema_py_generated as s
    from flatbuffers import flexbuffers

    F = s.TensorType.FLOAT32
    anchors = s.BufferT()
    grid = np.stack([np.linspace(0.1, 0.9, n), np.linspace(0.9, 0.1, n), np.full(n, 0.2), np.full(n, 0.3)], 1)
    anchors.data = np.frombuffer(grid.astype(np.float32).tobytes(), np.uint8)
    fbb = flexbuffers.Builder()
    with fbb.Map():
        for key, value in options.items():
            {bool: fbb.Bool, int: fbb.Int, float: fbb.Float}[type(value)](key, value)
    custom = fbb.Finish()
    d = options["max_detections"] * options.get("max_classes_per_detection", 1)
    tensors = [
        _tensor("box_encodings", [1, n, 4], F),
        _tensor("class_predictions", [1, n, classes + 1], F),
        _tensor("anchors", [n, 4], F, 1),
        *[_tensor(f"out{i}", shape, F) for i, shape in enumerate([[1, d, 4], [1, d], [1, d], [1]])],
    ]
    ops = [(0, [0, 1, 2], [3, 4, 5, 6], custom)]
    return _model(
        ops,
        tensors,
        [0, 1],
        [3, 4, 5, 6],
        [s.BufferT(), anchors],
        [_code(custom="TFLite_Detection_PostProcess")],
    )


def test_postprocess_options_and_anchors_are_read_as_facts() -> None:
    options = {
        "max_detections": 5,
        "max_classes_per_detection": 1,
        "num_classes": 3,
        "nms_score_threshold": 0.25,
        "nms_iou_threshold": 0.5,
        "y_scale": 10.0,
        "x_scale": 10.0,
        "h_scale": 5.0,
        "w_scale": 5.0,
        "use_regular_nms": True,
    }
    model = postprocess_model(options)
    facts = postprocess_facts(model, "toy")
    assert facts is not None
    assert facts.options["max_detections"] == 5 and facts.options["use_regular_nms"] is True
    assert facts.options["nms_score_threshold"] == pytest.approx(0.25)
    assert facts.options["detections_per_class"] == 100  # TFLite's default for a key left out
    assert (facts.box_encodings, facts.class_predictions, facts.anchors_tensor) == (
        "box_encodings",
        "class_predictions",
        "anchors",
    )
    assert facts.anchors is not None and facts.anchors.shape == (8, 4)
    np.testing.assert_allclose(facts.anchors[:, 0], np.linspace(0.1, 0.9, 8), atol=1e-7)
    # the shapes the facts give are the ones LiteRT's kernel makes
    rng = np.random.default_rng(0)
    feeds = {
        "box_encodings": rng.normal(0, 1, (1, 8, 4)).astype(np.float32),
        "class_predictions": rng.uniform(0, 1, (1, 8, 4)).astype(np.float32),
    }
    made = _run(model, feeds)
    assert [list(v.shape) for v in made.values()] == facts.output_shapes
    assert postprocess_facts(chain_model(), "toy") is None


@pytest.mark.acceptance
@needs_detect
def test_inspect_of_the_genuine_ssd_shows_real_shapes_and_the_postprocess() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zookit", "inspect", str(DETECT), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert [o["shape"] for o in info["outputs"]] == [[1, 10, 4], [1, 10], [1, 10], [1]]
    pp = info["facts"]["postprocess"]
    assert pp["options"]["max_detections"] == 10 and pp["options"]["num_classes"] == 90
    assert pp["options"]["y_scale"] == 10.0 and pp["options"]["h_scale"] == 5.0
    assert pp["anchors"] == [1917, 4] and (pp["box_encodings"], pp["class_predictions"]) == (
        "Squeeze",
        "convert_scores",
    )
    assert {t["tensor"] for t in info["trim_points"]} >= {"Squeeze", "convert_scores"}
    assert not any("recipes do not trim it" in n for n in info["notes"])


@pytest.mark.acceptance
@needs_detect
@pytest.mark.filterwarnings("ignore:Warning. Enabling .experimental_preserve_all_tensors.:UserWarning")
def test_the_genuine_ssd_cut_at_its_heads_gives_the_same_codes() -> None:
    from ai_edge_litert.interpreter import Interpreter

    whole = DETECT.read_bytes()
    heads = trim_tflite(whole, ["Squeeze", "convert_scores"], None, "detect.tflite")
    x = np.random.default_rng(1).integers(0, 256, (1, 300, 300, 3), dtype=np.uint8)
    full = Interpreter(model_content=whole, experimental_preserve_all_tensors=True)
    full.allocate_tensors()
    full.set_tensor(full.get_input_details()[0]["index"], x)
    full.invoke()
    by_name = {d["name"]: d for d in full.get_tensor_details()}
    _, outs, ops = _details(heads)
    assert ops == 63  # the post-process op dropped, nothing else
    for name, value in _run(heads, {"normalized_input_image_tensor": x}).items():
        d = next(o for o in outs if o["name"] == name)
        assert d["quantization"] == by_name[name]["quantization"] and value.dtype == np.uint8
        np.testing.assert_array_equal(value, full.get_tensor(by_name[name]["index"]))


def _heads_model(n: int, classes: int, quantized: bool) -> bytes:
    """No operators: the graph's inputs are the two heads, named as the genuine SSD names them."""
    from ai_edge_litert import schema_py_generated as s

    kind = s.TensorType.UINT8 if quantized else s.TensorType.FLOAT32
    tensors = [
        _tensor("Squeeze", [1, n, 4], kind, 0, (0.1, 128) if quantized else None),
        _tensor("convert_scores", [1, n, classes + 1], kind, 0, (1 / 256, 0) if quantized else None),
    ]
    return _model([], tensors, [0, 1], [0, 1], [s.BufferT()], [])


@pytest.mark.parametrize("quantized", [False, True], ids=["float-heads", "uint8-heads"])
def test_zookits_postprocess_decodes_each_anchor_where_the_recipe_puts_it(quantized: bool) -> None:
    """Zero box encodings decode to the anchor itself: the best-scoring anchor's box must come out as
    zookit's anchor in corner form (within half a step of uint8 anchors beside uint8 heads)."""
    import yaml

    from conftest import REPO
    from zookit.convert.anchors import to_corners
    from zookit.convert.tflite_postprocess import attach_postprocess, recipe_anchors
    from zookit.recipe import parse_recipe

    doc = yaml.safe_load((REPO / "recipes" / "ssd_mobilenet_v1_quant.yaml").read_text())
    doc["detection"]["anchors"]["feature_map_sizes"] = [2, 1, 1, 1, 1, 1]  # 4 x 3 + 5 x 6 = 42 anchors
    recipe = parse_recipe(doc, "ssd_mobilenet_v1_quant.yaml")
    anchors = recipe_anchors(recipe)
    assert anchors.shape == (42, 4)
    model = attach_postprocess(_heads_model(42, 90, quantized), recipe, anchors, "toy")
    for best in (5, 17, 41):
        scores = np.zeros((1, 42, 91), np.float32)
        scores[0, best, 3] = 0.9  # class index 2 of the op (background is column 0)
        boxes = np.zeros((1, 42, 4), np.float32)
        feeds = {"Squeeze": boxes, "convert_scores": scores}
        if quantized:
            feeds = {
                "Squeeze": np.full((1, 42, 4), 128, np.uint8),
                "convert_scores": (scores * 256).astype(np.uint8),
            }
        out = _run(model, feeds)
        got = out["TFLite_Detection_PostProcess"][0, 0]
        assert out["TFLite_Detection_PostProcess:1"][0, 0] == 2
        step = float(anchors.max()) / 255 if quantized else 0.0
        np.testing.assert_allclose(got, to_corners(anchors)[best], atol=step + 1e-6)
