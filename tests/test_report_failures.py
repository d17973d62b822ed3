"""Issue 28, points 3 and 9 (the report's part): every failure shows as a failure. A stage that failed in the
last `zoo run` is failed in the report's page, its header counts, report.json and ``Zoo.report()``; the
stages a failure stopped are listed in the run summary (text and --json) as skipped, with the failure that
stopped them. `zoo report --all` lists the recipe folder's models only.

The models are the small ONNX classifier of test_pipeline (onnxruntime and OpenVINO's float IR: quick),
served from 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import standins
from conftest import FileServer, minimal_recipe, write_recipe
from test_convert import serve_source
from test_pipeline import onnx_model
from test_report import in_chromium, needs_chromium, no_traceback, zoo


def failing_zoo(server: FileServer, tmp_path: Path) -> Path:
    """``ov_fails``: an OpenVINO IR that misses its limit (FP16 weights judged against a max_abs of 1e-12);
    ``unfetched``: a source the server does not have, so that no later stage runs."""
    data = standins.onnx_classifier(tmp_path / "c.onnx")
    recipes = tmp_path / "recipes"
    ov_fails = onnx_model("ov_fails")
    ov_fails["openvino"] = {
        "target": "onnx",
        "fp16": True,
        "int8": False,
        "latency": False,
        "tolerance": {"max_abs": 1e-12},
    }
    serve_source(ov_fails, server, "c.onnx", data)
    unfetched = onnx_model("unfetched")
    serve_source(unfetched, server, "gone.onnx", data + b"\0")  # bytes the download cache has not seen
    server.add("gone.onnx", b"", mode="404")
    for doc in (ov_fails, unfetched):
        write_recipe(recipes, doc)
    return recipes


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    """The failing zoo after one `zoo run --all` (its text summary, and its JSON in run.json)."""
    tmp_path = tmp_path_factory.mktemp("failing")
    server = FileServer()
    try:
        failing_zoo(server, tmp_path)
        zoo_dir = str(tmp_path / "zoo")
        proc = zoo(tmp_path, "run", "--all", "--zoo-dir", zoo_dir, "--report", str(tmp_path / "run.json"))
        yield tmp_path, proc
    finally:
        server.stop()


@needs_chromium
def test_failed_stages_are_failures_and_the_stages_they_stopped_are_skipped_with_why(
    ran: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    tmp_path, proc = ran
    zoo_dir = str(tmp_path / "zoo")
    assert proc.returncode == 1, proc.stderr
    run = json.loads((tmp_path / "run.json").read_text())  # what --json prints
    stages = {(m["model"], s["stage"]): s for m in run["models"] for s in m["stages"]}
    assert stages[("ov_fails", "openvino")]["status"] == "failed"
    assert stages[("ov_fails", "tidl")]["status"] == "done"
    assert stages[("unfetched", "fetch")]["status"] == "failed"
    for stage in ("convert:onnx", "tidl"):  # they used to vanish from the summary
        assert stages[("unfetched", stage)]["status"] == "skipped"
        assert stages[("unfetched", stage)]["reason"] == "fetch failed"
    # the text summary: the same rows
    assert re.search(r"unfetched\s+convert:onnx\s+skipped\s+\S+\s+not run: fetch failed", proc.stdout)
    assert re.search(r"unfetched\s+tidl\s+skipped\s+\S+\s+not run: fetch failed", proc.stdout)

    out = tmp_path / "page"
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", zoo_dir, "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    models = {m["name"]: m for m in doc["models"]}
    ov = {d["deployer"]: d for d in models["ov_fails"]["deployers"]}["openvino"]
    assert ov["status"] == "failed" and "does not match the source" in ov["problem"]
    assert doc["totals"]["deploy_failed"] == 2  # ov_fails' openvino, unfetched's fetch
    unfetched = {d["deployer"]: d for d in models["unfetched"]["deployers"]}
    assert unfetched["tidl"]["problem"] == "not run: fetch failed"
    assert models["unfetched"]["targets"][0]["problem"] == "not run: fetch failed"
    assert json.loads((out / "report.json").read_text())["totals"] == doc["totals"]

    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", zoo_dir, "--out", str(out))
    assert "2 package(s) failed" in proc.stdout
    assert "failed: ov_fails openvino: the last run failed" in no_traceback(proc)
    dom = in_chromium(out / "index.html", tmp_path / "page.png")
    assert dom.rows()[("ov_fails", "onnx")] == "passed"
    text = "".join(dom.text)
    assert "2 package(s) failed" in text and "the last run failed" in text
    assert "not packaged yet" not in text  # what a failed stage used to look like

    import zookit

    api = zookit.Zoo.open(tmp_path / "recipes", zoo_dir=tmp_path / "zoo", cache_dir=tmp_path / "cache")
    assert api.report()["totals"]["deploy_failed"] == 2


def test_a_failure_fixed_since_is_not_shown(
    ran: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    """A stage that failed in the last run but is current now (made by another command since) is not
    reported as failed: the record of the last run only speaks for stages still to redo. A damaged
    record is no failure of the report."""
    for folder in ("zoo", "recipes"):  # a copy (modification times kept: the records stay current)
        shutil.copytree(ran[0] / folder, tmp_path / folder, symlinks=True)
    zoo_dir = tmp_path / "zoo"
    record = json.loads((zoo_dir / "ov_fails/last-run.json").read_text())
    record["stages"] = [
        {"stage": "convert:onnx", "status": "failed", "error": "an old failure", "reason": ""},
        {"stage": "openvino", "status": "failed", "error": "   ", "reason": ""},
        {"stage": ["junk"], "status": {}, "error": None},
        "junk",
    ]
    (zoo_dir / "ov_fails/last-run.json").write_text(json.dumps(record))
    proc = zoo(tmp_path, "report", "ov_fails", "--zoo-dir", str(zoo_dir), "--json")
    no_traceback(proc)
    model = json.loads(proc.stdout)["models"][0]
    assert model["targets"][0]["status"] == "passed"
    ov = {d["deployer"]: d for d in model["deployers"]}["openvino"]
    assert (ov["status"], ov["problem"]) == ("failed", "the last run failed: failed")
    record_file = zoo_dir / "ov_fails/last-run.json"
    for hostile in ("[" * 100_000 + "]" * 100_000, b"\xff\xfe", "/dev/zero"):
        record_file.unlink()
        if hostile == "/dev/zero":
            record_file.symlink_to(hostile)  # read, it would never end
        elif isinstance(hostile, bytes):
            record_file.write_bytes(hostile)
        else:
            record_file.write_text(hostile)
        proc = zoo(tmp_path, "report", "ov_fails", "--zoo-dir", str(zoo_dir), "--json")
        assert proc.returncode == 0, no_traceback(proc)
        ov = {d["deployer"]: d for d in json.loads(proc.stdout)["models"][0]["deployers"]}["openvino"]
        assert ov["status"] == "missing"  # no record of the run: what the other records say


def test_report_all_lists_only_the_recipe_folders_models(tmp_path: Path) -> None:
    from test_report import a_zoo_of_records

    a_zoo_of_records(tmp_path)  # its zoo also holds "stray", which no recipe names
    for other in ("mobilenet_v1", "ic_mine"):
        (tmp_path / f"zoo/{other}/onnx").mkdir(parents=True)
        (tmp_path / f"zoo/{other}/onnx/manifest.json").write_text("{}")
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "2 model(s)" in proc.stdout
    lines = [line for line in proc.stdout.splitlines() if "left out" in line]
    assert lines == [
        f"left out 3 model folder(s) of the zoo that no recipe in {tmp_path / 'recipes'} names: "
        "ic_mine, mobilenet_v1, stray"
    ]
    doc: dict[str, Any] = json.loads((tmp_path / "o/report.json").read_text())
    assert sorted(m["name"] for m in doc["models"]) == ["foreign", "good"]
    assert doc["left_out"] == ["ic_mine", "mobilenet_v1", "stray"]


def test_report_caps_its_lines_about_targets(tmp_path: Path) -> None:
    """A stale zoo of many models: ten lines about targets, then how many more and where to look."""
    recipes = tmp_path / "recipes"
    from conftest import minimal_recipe

    for i in range(14):
        write_recipe(recipes, minimal_recipe(f"m{i:02d}"))
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"))
    err = [line for line in no_traceback(proc).splitlines() if line]
    assert len(err) == 11 and all(line.startswith("missing: m") for line in err[:10])
    assert err[10] == (
        f"... and 4 more; see {tmp_path / 'zoo/report/index.html'} or {tmp_path / 'zoo/report/report.json'}"
    )


def test_the_tidl_package_names_the_recipes_real_file(server: FileServer, tmp_path: Path) -> None:
    """A recipe in my_recipes/: the import config and README say so (relative to the working folder when
    the recipe is below it, else its absolute path), not recipes/<name>.yaml."""
    import os
    import sys

    data = standins.onnx_classifier(tmp_path / "c.onnx")
    doc = onnx_model("ic_mine")
    serve_source(doc, server, "c.onnx", data)
    write_recipe(tmp_path / "work/my_recipes", doc)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd, shown in ((tmp_path / "work", "my_recipes/ic_mine.yaml"), (elsewhere, None)):
        recipes = (tmp_path / "work/my_recipes").resolve()
        shown = shown or str(recipes / "ic_mine.yaml")
        proc = subprocess.run(
            [sys.executable, "-m", "zookit", "--recipes", str(recipes), "run", "--all",
             "--zoo-dir", str(tmp_path / "zoo")],
            capture_output=True, text=True, cwd=cwd, timeout=300,
            env=dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache")),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        package = tmp_path / "zoo/ic_mine/tidl"
        config = (package / "tidl_import_ic_mine.txt").read_text()
        assert f"# TIDL import config for ic_mine, written by zookit from {shown}." in config
        assert f"from `{shown}`" in (package / "README.md").read_text()
        assert "recipes/ic_mine.yaml" not in config.replace(shown, "")
        shutil.rmtree(package)  # the next run packages it again (the converted target stays current)


@pytest.mark.slow
def test_a_failed_conversion_lists_the_tflm_stages_it_stopped(server: FileServer, tmp_path: Path) -> None:
    """ad_autoencoder's case: a TFLite target misses its limit, and the TFLM stages after it, which used to
    vanish from the summary, are skipped with the failure that stopped them."""

    def build(tf, rng):  # type: ignore[no-untyped-def]
        x = tf.compat.v1.placeholder(tf.float32, [1, 4], name="input")
        w = tf.constant(rng.normal(0, 1.0, (4, 2)).astype(np.float32))
        tf.identity(tf.matmul(x, w), name="output")

    data = standins._freeze(build, ["output"], tmp_path / "toy.pb")
    doc = minimal_recipe("mcu_model", num_classes=2)
    doc["targets"] = [
        {"name": "tflite-float32", "format": "tflite", "c_array": True},
        {"name": "tflite-int8", "format": "tflite", "quantization": "int8", "c_array": True,
         "tolerance": {"max_abs": 1e-9}},  # int8 cannot meet it
    ]  # fmt: skip
    serve_source(doc, server, "toy.pb", data)
    write_recipe(tmp_path / "recipes", doc)
    proc = zoo(
        tmp_path, "run", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--report", str(tmp_path / "r.json")
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    stages = {s["stage"]: s for s in json.loads((tmp_path / "r.json").read_text())["models"][0]["stages"]}
    assert stages["convert:tflite-int8"]["status"] == "failed"
    assert stages["convert:tflite-float32"]["status"] == "done"
    for target in ("tflite-float32", "tflite-int8"):
        assert (stages[f"tflm:{target}"]["status"], stages[f"tflm:{target}"]["reason"]) == (
            "skipped", "convert:tflite-int8 failed"
        )  # fmt: skip
        assert re.search(
            rf"mcu_model\s+tflm:{target}\s+skipped\s+\S+\s+not run: convert:tflite-int8 failed", proc.stdout
        )
