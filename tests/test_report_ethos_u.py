"""Issue 31, build 3: the report's Arm Ethos-U section and its regressions, on package records made by
compiling real int8 TFLite models with Vela (tests/ethos_u_records.py): a tiny int8 model written here
(a convolution on the NPU, a FLOOR that Vela leaves on the CPU) and, when ../shared is present, MLPerf
Tiny's genuine int8 models. The page is rendered by headless Chromium; the chart is measured there."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from conftest import SHARED_MODELS, minimal_recipe, write_recipe
from ethos_u_records import CONFIGS, tiny_int8_model, vela, write_record
from test_report import in_chromium, needs_chromium, no_traceback, zoo
from test_report_charts import ROUND, measured, overlap
from zookit.__main__ import main
from zookit.report.compare import compare
from zookit.report.ethos_u import MAX_FALLBACKS, MAX_LAYERS

pytestmark = pytest.mark.skipif(vela() is None, reason="ethos-u-vela is not installed (extra [ethos-u])")
TARGET = "tflite-int8"


def recipe(recipes: Path, name: str) -> None:
    doc = minimal_recipe(name)
    doc["targets"] = [{"name": TARGET, "format": "tflite", "quantization": "int8"}]
    write_recipe(recipes, doc)


def record_folder(base: Path, model: str, config: str) -> Path:
    folder = base / "zoo" / model / TARGET / "ethos_u" / config
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def long_names(record: dict[str, Any], count: int) -> dict[str, Any]:
    """The record with ``count`` layers named as Vela names a fused layer of a Keras model (several
    tensor names joined by ';'), cycles from the record's own convolution scaled."""
    conv = next(layer for layer in record["layers"] if layer["where"] == "NPU" and layer["cycles"])
    layers = [
        {**conv, "name": f"functional_1/block_{i}/depthwise_conv2d/BatchNormalization/Relu6;functional_1/b{i}",
         "cycles": conv["cycles"] * (1 + i % 7)}
        for i in range(count)
    ] + [layer for layer in record["layers"] if layer["where"] == "CPU"]  # fmt: skip
    return {**record, "layers": layers}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A zoo of two models: ``tiny`` compiled for U55 (SRAM budget under what it uses) and U65, and
    ``wide`` (the U55 record with 70 layers of long names), and its report: the later baseline."""
    base = tmp_path_factory.mktemp("ethos")
    model = tiny_int8_model(base / "tiny.tflite")
    records = {
        "u55-128": write_record(model, record_folder(base, "tiny", "u55-128"), "u55-128", {"sram_kib": 2.0}),
        "u65-256": write_record(model, record_folder(base, "tiny", "u65-256"), "u65-256"),
    }
    wide = long_names(records["u55-128"], 70)
    (record_folder(base, "wide", "u55-128") / "ethos_u.json").write_text(json.dumps(wide))
    for name in ("tiny", "wide"):
        recipe(base / "recipes", name)
    proc = zoo(base, "report", "--all", "--zoo-dir", str(base / "zoo"), "--out", str(base / "out"))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((base / "out" / "report.json").read_text())
    return {"base": base, "records": records, "doc": doc, "stdout": proc.stdout + proc.stderr}


def rows(doc: dict[str, Any], model: str) -> dict[str, dict[str, Any]]:
    entry = next(m for m in doc["models"] if m["name"] == model)
    return {row["config"]: row for row in entry["ethos_u"]}


@needs_chromium
def test_rows_budgets_and_cpu_fallbacks_are_on_the_page_and_in_report_json(
    made: dict[str, Any], tmp_path: Path
) -> None:
    tiny = rows(made["doc"], "tiny")
    assert set(tiny) == set(CONFIGS)
    for config, record in made["records"].items():
        row = tiny[config]
        for key in ("sram_kib", "flash_kib", "inference_time_ms", "cycles", "npu_cycles", "macs"):
            assert row[key] == record[key], (config, key)
        assert (row["npu_operators"], row["cpu_operators"]) == (1, 1)  # the convolution; the FLOOR
        assert row["accelerator"] == CONFIGS[config][0] and row["vela_version"] == record["vela_version"]
        # the one operator Vela cannot place: named by its output tensor, with Vela's reason
        assert [(f["name"], f["op"]) for f in row["cpu_fallbacks"]] == [("output", "FLOOR")]
        assert "Unsupported" in row["cpu_fallbacks"][0]["reason"]
        assert [layer["where"] for layer in row["layers"]].count("CPU") == 1
    u55 = tiny["u55-128"]
    assert u55["sram_kib"] > 2.0 and u55["status"] == "failed"  # over its budget of 2 KiB
    assert u55["problem"] == f"SRAM {u55['sram_kib']:.4g} KiB over the budget of 2 KiB"
    assert (
        tiny["u65-256"]["status"] == "passed" and made["doc"]["totals"]["deploy_failed"] == 2
    )  # tiny and wide on U55
    assert f"failed: tiny ethos-u {TARGET} u55-128: SRAM" in made["stdout"]

    dom = in_chromium(made["base"] / "out" / "index.html", tmp_path / "shot.png")
    shown = {
        (a.get("data-model"), a.get("data-config")): a.get("data-status")
        for t, a in dom.tags
        if t == "tr" and a.get("class") == "ethos-u-row"
    }
    assert shown == {
        ("tiny", "u55-128"): "failed",
        ("tiny", "u65-256"): "passed",
        ("wide", "u55-128"): "failed",
    }
    text = " ".join(dom.text)
    assert "Unsupported opType" in text and "output" in text and "over" in text
    assert dom.count("ul", "ethos-u-fallbacks") == 3 and dom.count("figure", "chart-ethos-u") == 3


@needs_chromium
def test_the_per_layer_cycles_chart_is_legible_at_1280_and_800_px(made: dict[str, Any]) -> None:
    page = made["base"] / "out" / "index.html"
    for width in (1280, 800):
        data = measured(page, width)
        texts = data["texts"]
        assert {t["chart"] for t in texts} == {0, 1, 2}  # tiny: U55 and U65; wide
        small = [(t["text"], round(t["px"], 1)) for t in texts if t["px"] < data["small"] - 0.01]
        assert not small, f"{width} px: chart text smaller than the page's small text: {small}"
        for a, b in combinations(texts, 2):
            if a["chart"] == b["chart"]:
                assert overlap(a["box"], b["box"]) < 1.0, f"{width} px: {a['text']!r} overlaps {b['text']!r}"
        numbers = [t["text"] for t in texts if "axis" in t["classes"] and re.match(r"^[-\d.e]+$", t["text"])]
        assert numbers and all(ROUND.match(n) for n in numbers), numbers
        for chart in (0, 1, 2):
            shown = {t["text"] for t in texts if t["chart"] == chart}
            assert {"NPU", "CPU (no estimate)"} <= shown  # the legend: which colour is where
            assert any(s.endswith("· Floor · CPU") for s in shown), shown
    wide = [t["text"] for t in texts if t["chart"] == 2 and "Conv2D" in t["text"]]
    assert len(wide) == 59 and all(
        len(s) <= 64 for s in wide
    )  # the CPU layer and the 59 NPU layers of most cycles, names cut


def edited(made: dict[str, Any], tmp_path: Path, **changes: Any) -> Path:
    """A copy of the zoo whose tiny U55 record has ``changes`` (a figure -> a factor or a value)."""
    zoo_dir = tmp_path / "zoo"
    shutil.copytree(made["base"] / "zoo", zoo_dir)
    path = zoo_dir / "tiny" / TARGET / "ethos_u" / "u55-128" / "ethos_u.json"
    record = json.loads(path.read_text())
    for key, change in changes.items():
        record[key] = change(record[key]) if callable(change) else change
    path.write_text(json.dumps(record))
    return zoo_dir


def against_baseline(made: dict[str, Any], zoo_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    base = made["base"]
    baseline = str(base / "out" / "report.json")
    return zoo(base, "report", "--all", "--zoo-dir", str(zoo_dir), "--out", str(zoo_dir.parent / "out"),
               "--baseline", baseline, "--fail-on-regression", *argv)  # fmt: skip


def worse_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith("worse: ")]


def test_cycles_grown_by_6_percent_are_a_regression_and_by_4_percent_are_not(
    made: dict[str, Any], tmp_path: Path
) -> None:
    old = made["records"]["u55-128"]["cycles"]
    grown = round(old * 1.06)
    proc = against_baseline(made, edited(made, tmp_path / "6", cycles=grown))
    no_traceback(proc)
    assert proc.returncode == 1, proc.stdout
    change = (grown - old) / old * 100
    assert worse_lines(proc) == [
        f"worse: tiny ethos-u {TARGET} u55-128: cycles {old} -> {grown} ({change:+.1f}%)"
    ]
    doc = json.loads((tmp_path / "6" / "out" / "report.json").read_text())
    (entry,) = doc["regressions"]["worse"]
    assert (entry["model"], entry["target"], entry["config"], entry["what"]) == (
        "tiny",
        TARGET,
        "u55-128",
        "cycles",
    )
    assert (entry["old"], entry["new"], doc["regressions"]["margin"]) == (old, grown, 0.05)

    four = edited(made, tmp_path / "4", cycles=round(old * 1.04))
    proc = against_baseline(made, four)
    assert proc.returncode == 0 and not worse_lines(proc), proc.stdout
    proc = against_baseline(made, four, "--margin", "3%")  # a stated margin: 4% is more than 3%
    assert proc.returncode == 1 and len(worse_lines(proc)) == 1, proc.stdout
    proc = against_baseline(made, edited(made, tmp_path / "6b", cycles=grown), "--margin", "10")
    assert proc.returncode == 0 and not worse_lines(proc), proc.stdout


def test_sram_flash_and_cpu_operators_that_grew_are_worse_and_shrunk_cycles_are_better(
    made: dict[str, Any], tmp_path: Path
) -> None:
    record = made["records"]["u55-128"]
    zoo_dir = edited(
        made, tmp_path, sram_kib=lambda v: v * 1.5, flash_kib=lambda v: v * 2, cpu_operators=lambda v: v + 1,
        cycles=lambda v: round(v * 0.8),
    )  # fmt: skip
    proc = against_baseline(made, zoo_dir)
    assert proc.returncode == 1, proc.stdout
    figures = sorted(line.split(": ")[2].split(" ")[0] for line in worse_lines(proc))
    assert figures == ["CPU", "SRAM", "flash"], proc.stdout
    assert (
        f"better: tiny ethos-u {TARGET} u55-128: cycles {record['cycles']} -> {round(record['cycles'] * 0.8)}"
        in (proc.stdout)
    )


def test_added_and_removed_configurations_are_changes_not_regressions(
    made: dict[str, Any], tmp_path: Path
) -> None:
    zoo_dir = edited(made, tmp_path)
    configs = zoo_dir / "tiny" / TARGET / "ethos_u"
    (configs / "u65-256").rename(configs / "u85-256")
    proc = against_baseline(made, zoo_dir)
    assert proc.returncode == 0 and not worse_lines(proc), proc.stdout
    assert f"changed: tiny ethos-u {TARGET} u85-256: added none -> passed" in proc.stdout
    assert f"changed: tiny ethos-u {TARGET} u65-256: gone present -> none" in proc.stdout


def test_a_bad_margin_gets_one_line(made: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    base = made["base"]
    common = ["--recipes", str(base / "recipes"), "report", "--all", "--zoo-dir", str(base / "zoo")]
    baseline = ["--baseline", str(base / "out" / "report.json")]
    for margin in ("five", "-1%", "nan", "2000%", "%"):
        with pytest.raises(SystemExit) as exit_:
            main([*common, *baseline, "--margin", margin])
        err = capsys.readouterr().err.strip()
        assert exit_.value.code == 2 and "--margin" in err and len(err.splitlines()) == 1, err
    proc = zoo(base, "report", "--all", "--zoo-dir", str(base / "zoo"), "--margin", "5%")
    assert proc.returncode == 2 and "--margin needs --baseline" in no_traceback(proc)


HOSTILE: dict[str, Any] = {
    "corrupt": "{oops",
    "a-list": "[1, 2]",
    "foreign": json.dumps({"deployer": "tidl", "cycles": 1}),
    "hostile": None,  # written by the test: the real record with hostile values
    "markup": None,  # the real record with markup in its names and reasons
}
MARKUP = "<img src=x onerror=alert(1)>"


def test_corrupt_and_hostile_records_give_rows_with_their_problem(
    made: dict[str, Any], tmp_path: Path
) -> None:
    base = tmp_path
    recipe(base / "recipes", "tiny")
    real = made["records"]["u55-128"]
    for config, text in HOSTILE.items():
        folder = record_folder(base, "tiny", config)
        if config == "markup":
            layers = [{**layer, "name": MARKUP + layer["name"]} for layer in real["layers"]]
            fallbacks = [{**f, "reason": MARKUP} for f in real["cpu_fallbacks"]]
            text = json.dumps({**real, "layers": layers, "cpu_fallbacks": fallbacks, "accelerator": MARKUP})
        if text is None:
            junk: list[Any] = ["x", None, 3, {"name": ["n"], "op": {}, "where": "GPU", "cycles": "many"}]
            text = json.dumps({
                **real, "sram_kib": -1, "cycles": math.nan, "flash_kib": "lots", "cpu_operators": True,
                "npu_operators": 1e308, "budgets": "none", "accelerator": ["a"],
                "layers": [{**real["layers"][0], "cycles": math.inf, "utilisation": 1e9}] * 50_000 + junk,
                "cpu_fallbacks": [{"name": "n" * 1_000, "reason": 3}] * 5_000 + junk,
            })  # fmt: skip
        (folder / "ethos_u.json").write_text(text)
    record_folder(base, "tiny", "a-folder").joinpath("ethos_u.json").mkdir()
    proc = zoo(base, "report", "--all", "--zoo-dir", str(base / "zoo"), "--out", str(base / "out"), "--json")
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    found = rows(doc, "tiny")
    markup = found.pop("markup")
    assert markup["status"] == "failed" and markup["cpu_fallbacks"][0]["reason"] == MARKUP  # over 2 KiB
    assert {c: r["status"] for c, r in found.items()} == dict.fromkeys(
        [*(c for c in HOSTILE if c != "markup"), "a-folder"], "unreadable"
    )
    assert (
        "not readable JSON" in found["corrupt"]["problem"] and "not readable" in found["a-folder"]["problem"]
    )
    assert "a JSON list" in found["a-list"]["problem"] and "not an Ethos-U" in found["foreign"]["problem"]
    hostile = found["hostile"]
    assert re.search(r"no figure for sram_kib, flash_kib, cycles, cpu_operators \(", hostile["problem"])
    assert hostile["npu_operators"] == 1e308 and hostile["accelerator"] is None
    assert len(hostile["layers"]) == MAX_LAYERS and hostile["layers_left_out"] == 50_000 + 1 - MAX_LAYERS
    assert all(layer["cycles"] is None and layer["utilisation"] is None for layer in hostile["layers"])
    assert len(hostile["cpu_fallbacks"]) == MAX_FALLBACKS and len(hostile["cpu_fallbacks"][0]["name"]) == 300
    html = (base / "out" / "index.html").read_text()
    assert MARKUP not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") >= 3  # text, not markup
    assert 'class="chart chart-ethos-u" data-target="tflite-int8" data-config="markup"' in html
    for row in found.values():
        assert row["problem"].replace("'", "&#39;").replace('"', "&#34;") in html
    # a baseline with hostile Ethos-U rows compares without an exception
    baseline = json.loads(json.dumps(doc))
    baseline["models"][0]["ethos_u"] = ["junk", {"target": 3}, {**found["hostile"], "cycles": "x"}]
    assert compare(baseline, doc)["worse"] == []
    baseline["models"][0]["ethos_u"] = "junk"
    assert len(compare(baseline, doc)["changed"]) == len(rows(doc, "tiny"))  # every row: added


MLPERF = SHARED_MODELS / "mlperf_tiny"
GENUINE = {
    "kws": "keyword_spotting/trained_models/kws_ref_model.tflite",
    "ic": "image_classification/trained_models/pretrainedResnet_quant.tflite",
}


@pytest.mark.acceptance
@pytest.mark.skipif(not MLPERF.is_dir(), reason="../shared/models/mlperf_tiny is absent (genuine models)")
def test_genuine_mlperf_tiny_models_on_a_u55_and_a_u65(tmp_path: Path) -> None:
    records = {}
    for name, file in GENUINE.items():
        recipe(tmp_path / "recipes", name)
        for config in CONFIGS:
            records[name, config] = write_record(MLPERF / file, record_folder(tmp_path, name, config), config)
    proc = zoo(
        tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--out", str(tmp_path / "out")
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    html = (tmp_path / "out" / "index.html").read_text()
    for (name, config), record in records.items():
        row = rows(doc, name)[config]
        assert row["status"] == "passed" and row["cpu_operators"] == 0 and row["cpu_fallbacks"] == []
        assert row["npu_operators"] == record["npu_operators"] > 10 and row["cycles"] == record["cycles"] > 0
        assert f"{name} {TARGET} {config}: cycles per operator" in html
