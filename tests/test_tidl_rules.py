"""zoo check against TI's operator table, row by row (issue #19).

The oracle is TI's table itself (edgeai-tidl-tools tag 11_00_06_00, docs/supported_ops_rts_versions.md):
each row has probe models on both sides of a limit it states (tests/tidl_probes.py), and the verdict a
probe expects is the one TI's row gives, not zookit's rule. The row numbers and lines below are copied
from TI's file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tidl_probes import CASES, Case

# TI's table: ONNX rows 1-60 (lines 12-71) and the two fused combinations (lines 84-85); TFLite rows
# 1-25 (lines 98-122).
TI_ONNX_ROWS = {str(n): 11 + n for n in range(1, 61)}
TI_TFLITE_ROWS = {str(n): 97 + n for n in range(1, 26)}
TI_FUSED_LINES = {"fused 1": 84, "fused 2": 85}
# Rows whose limits every valid model keeps, so no probe can be outside them.
INSIDE_ONLY = {
    ("onnx", "17"): "ONNX's DepthToSpace requires a 4D input with channels divisible by blocksize^2"
}


def _probe_file(case: Case, folder: Path) -> Path:
    return case.build(folder / ("probe.onnx" if case.framework == "onnx" else "probe.tflite"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.framework}-row{c.row}-{c.name}".replace(" ", "_"))
def test_each_row_of_tis_table_gives_tis_verdict_on_both_sides(case: Case, tmp_path: Path) -> None:
    from zookit.deploy.tidl.check import inventory

    path = _probe_file(case, tmp_path)
    if case.framework == "tflite":  # a real model: LiteRT parses it and resolves its operator
        from ai_edge_litert.interpreter import Interpreter

        Interpreter(model_content=path.read_bytes())
    [probe] = [f for f in inventory(path) if f.node in ("probe", "out0")]
    if case.inside:
        assert probe.where == "accelerator" and probe.accelerated, probe
        return
    assert probe.where == "arm" and not probe.accelerated and probe.reason, probe
    if probe.row:  # a listed operator outside its limit: the verdict names TI's row and line
        number = case.row.split(" / ")[-1] if " / " in case.row else case.row
        lines = TI_ONNX_ROWS if case.framework == "onnx" else TI_TFLITE_ROWS
        fused = [line for key, line in TI_FUSED_LINES.items() if case.row.startswith(key)]
        expected_line = fused[0] if fused else lines[number]
        assert f"row {case.row} (line {expected_line})" in probe.row, probe
    else:
        assert "not in TI's supported-operator table" in probe.reason


def test_every_row_of_tis_table_has_probes_on_both_sides() -> None:
    covered: dict[str, set[tuple[str, bool]]] = {"onnx": set(), "tflite": set()}
    for case in CASES:
        for number in case.row.replace("fused ", "fused").split(" / "):
            covered[case.framework].add((number, case.inside))
    for framework, rows in (("onnx", [*TI_ONNX_ROWS, "fused1", "fused2"]), ("tflite", list(TI_TFLITE_ROWS))):
        sides = [(r, inside) for r in rows for inside in (True, False)]
        missing = [
            (r, "inside" if inside else "outside")
            for r, inside in sides
            if (r, inside) not in covered[framework] and not ((framework, r) in INSIDE_ONLY and not inside)
        ]
        assert not missing, f"{framework} rows without a probe on that side: {missing}"


def test_the_rule_table_cites_the_line_of_each_row_in_tis_file() -> None:
    from zookit.deploy.tidl.rules import ONNX_TABLE, TFLITE_TABLE

    for op, row in ONNX_TABLE.items():
        number = row.number.split(" / ")[0]
        expected = TI_FUSED_LINES.get(number) or TI_ONNX_ROWS[number]
        assert row.line == expected, (op, row)
    for op, row in TFLITE_TABLE.items():
        assert row.line == TI_TFLITE_ROWS[row.number], (op, row)


def _small_net(path: Path) -> Path:
    """Conv-Relu-Conv-Relu, then Unsqueeze (TI's row 47) and a Softmax over the channels (outside row 8)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(size=(4, 4, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(np.array([0], np.int64), "axes"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["head"], name="relu2"),
        helper.make_node("Softmax", ["head"], ["sm"], name="softmax_channels", axis=1),
        helper.make_node("Unsqueeze", ["sm", "axes"], ["y"], name="unsqueeze"),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph(
        nodes, "net", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 4, 8, 8])], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def test_zoo_check_lists_every_operator_with_where_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zookit.__main__ import main

    path = _small_net(tmp_path / "net.onnx")
    assert main(["check", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {r["op"]: r for r in report["operators"]}
    assert rows["Conv"] == {"op": "Conv", "count": 2, "accelerator": 2, "arm": 0, "replaced": 0, "off": []}
    assert rows["Relu"]["count"] == 2 and rows["Relu"]["accelerator"] == 2
    assert rows["Unsqueeze"]["accelerator"] == 1  # TI's row 47 (zookit flagged it before)
    assert rows["Softmax"]["arm"] == 1 and rows["Softmax"]["off"] == ["softmax_channels"]
    assert report["problems"] == 1 and len(report["nodes"]) == 6
    [softmax] = [n for n in report["nodes"] if n["node"] == "softmax_channels"]
    assert softmax["row"] == "TI's ONNX table row 8 (line 19)" and "width or the height" in softmax["reason"]

    assert main(["check", str(path), "--strict"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["op", "count", "accelerator", "arm", "replaced"]
    assert ["Conv", "2", "2", "0", "0"] in [line.split() for line in out]
    assert any(line.startswith("off-accelerator: Softmax at softmax_channels:") for line in out)
    assert "6 node(s) of 4 operator type(s): 5 on the accelerator, 1 on ARM, 0 replaced" in out[-1]


def test_what_follows_the_detection_heads_is_replaced_not_off(tmp_path: Path) -> None:
    from zookit.deploy.tidl.check import inventory, problems, summary

    nodes = inventory(_small_net(tmp_path / "net.onnx"), heads=["head"])
    where = {f.node: f.where for f in nodes}
    assert where == {
        "conv1": "accelerator",
        "relu1": "accelerator",
        "conv2": "accelerator",
        "relu2": "accelerator",
        "softmax_channels": "replaced",
        "unsqueeze": "replaced",
    }
    assert not problems(nodes) and {r["op"]: r["replaced"] for r in summary(nodes)}["Softmax"] == 1
