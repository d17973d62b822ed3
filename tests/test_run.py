"""`zoo run` and `zoo clean`: incremental, parallel, robust to being killed, serialised per model.

Runs are real `zoo` processes (spawned workers, signals) on stand-in models served from 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import standins
from conftest import FileServer, write_recipe
from test_convert import real_recipe, serve_source
from zookit.hashes import file_checksum

pytestmark = pytest.mark.slow


def two_models(server: FileServer, tmp_path: Path) -> Path:
    """A small ResNet50 (one TFLite target) and the ONNX SSD stand-in, recipes written to tmp/recipes."""
    resnet = real_recipe("resnet50_v1")
    resnet["targets"] = [{"name": "tflite-float32", "format": "tflite"}]
    serve_source(resnet, server, "resnet50_v1.pb", standins.resnet50_like(tmp_path / "r.pb"))
    r34 = real_recipe("resnet34_ssd1200")
    serve_source(r34, server, "resnet34-ssd1200.onnx", standins.onnx_ssd(tmp_path / "s.onnx"))
    recipes = tmp_path / "recipes"
    for doc in (resnet, r34):
        doc.pop("openvino", None)  # these tests are about the run, not a deployer (test_openvino.py)
        write_recipe(recipes, doc)
    return recipes


def zoo_process(tmp_path: Path, *argv: str) -> subprocess.Popen[str]:
    env = dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "zookit",
            "--recipes",
            str(tmp_path / "recipes"),
            *argv,
            "--zoo-dir",
            str(tmp_path / "zoo"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def zoo_run(tmp_path: Path, *argv: str) -> tuple[int, dict[str, Any], str]:
    proc = zoo_process(tmp_path, "run", "--all", "--json", *argv)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, json.loads(out) if out.strip() else {}, err


def statuses(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(m["model"], s["stage"]): s["status"] for m in report["models"] for s in m["stages"]}


def assert_complete_and_verified(zoo: Path) -> None:
    """Every manifest and package names files that exist whole; nothing temporary is left."""
    for manifest_file in zoo.glob("*/*/manifest.json"):
        manifest = json.loads(manifest_file.read_text())
        model = manifest_file.parent / manifest["output"]["file"]
        assert file_checksum(model) == manifest["output"]["checksum"], model
        assert manifest["verification"]["passed"]
    for package_file in zoo.glob("*/tidl/package.json"):
        package = json.loads(package_file.read_text())
        for name, checksum in package["files"].items():
            assert file_checksum(package_file.parent / name) == checksum
    leftovers = [
        p for p in zoo.rglob(".*") if not p.name.endswith(".lock") and not p.name.startswith(".fetched-")
    ]
    assert not leftovers, leftovers


def test_run_is_incremental_and_a_warm_run_imports_no_tensorflow(server: FileServer, tmp_path: Path) -> None:
    two_models(server, tmp_path)
    code, report, err = zoo_run(tmp_path, "-j", "2", "--report", str(tmp_path / "report.json"))
    assert code == 0, err
    first = statuses(report)
    assert first[("resnet50_v1", "convert:tflite-float32")] == "done"
    assert first[("resnet34_ssd1200", "tidl")] == "done"
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert "----- resnet50_v1 -----" not in err or "----- end resnet50_v1 -----" in err  # one block per model
    # Off a terminal, progress is a log line per stage, reported by the workers as each stage starts.
    assert "resnet50_v1: convert:tflite-float32" in err and "resnet34_ssd1200: tidl" in err
    assert "\x1b[" not in err
    assert_complete_and_verified(tmp_path / "zoo")

    code, warm, err = zoo_run(tmp_path)
    assert code == 0
    assert set(statuses(warm).values()) == {"skipped"}
    assert "tensorflow" not in err and "onnxruntime" not in err  # -X importtime lists every import
    assert "resnet50_v1: " not in err  # no progress line for a stage that is current
    proc = zoo_process(tmp_path, "run", "--all")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0 and "nothing changed: every stage was current" in out

    # Changing one recipe redoes only that model.
    doc = real_recipe("resnet34_ssd1200")
    recipe_file = tmp_path / "recipes" / "resnet34_ssd1200.yaml"
    recipe_file.write_text(recipe_file.read_text().replace("iou_threshold: 0.5", "iou_threshold: 0.45"))
    assert doc["detection"]["postprocess"]["iou_threshold"] == 0.5
    code, changed, _ = zoo_run(tmp_path)
    after = statuses(changed)
    assert code == 0
    assert (
        after[("resnet34_ssd1200", "convert:onnx")] == "done"
        and after[("resnet34_ssd1200", "tidl")] == "done"
    )
    assert (
        after[("resnet50_v1", "convert:tflite-float32")] == "skipped"
        and after[("resnet50_v1", "tidl")] == "skipped"
    )
    assert (
        "nms_threshold: 0.45"
        in (tmp_path / "zoo/resnet34_ssd1200/tidl/resnet34_ssd1200_meta_arch.prototxt").read_text()
    )

    code, forced, _ = zoo_run(tmp_path, "--force", "-j", "1")
    assert code == 0 and statuses(forced)[("resnet50_v1", "convert:tflite-float32")] == "done"


def test_progress_on_a_terminal_is_a_live_display(server: FileServer, tmp_path: Path) -> None:
    two_models(server, tmp_path)
    main, child = pty.openpty()
    recipes, zoo = str(tmp_path / "recipes"), str(tmp_path / "zoo")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zookit", "--recipes", recipes, "run", "--all", "--zoo-dir", zoo],
        stdout=subprocess.PIPE,
        stderr=child,
        env=dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache"), TERM="xterm"),
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the process has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    out = proc.communicate(timeout=60)[0].decode()
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, screen
    assert "zoo run: 0/2 models done" in screen and "zoo run: 1/2 models done" in screen
    assert re.search(r"\n  resnet50_v1  convert:tflite-float32  \d+ s", screen)  # a live line
    assert "\x1b[2F\x1b[J" in screen  # the live lines are redrawn in place
    assert "] resnet50_v1: convert:" not in screen  # not the log lines used off a terminal
    # TensorFlow's own messages are kept out of the way (shown for a failure or with -v); the
    # finished models are counted up as they finish.
    assert "----- resnet50_v1 -----" not in screen
    assert "[2/2] ok resnet50_v1" in screen and "[1/2] ok resnet34_ssd1200" in screen
    assert "2 model(s) ok, 0 failed" in out


def test_a_failing_model_does_not_stop_the_others(server: FileServer, tmp_path: Path) -> None:
    recipes = two_models(server, tmp_path)
    broken = recipes / "resnet34_ssd1200.yaml"
    broken.write_text(broken.read_text().replace("Conv_382", "Conv_383"))
    code, report, _ = zoo_run(tmp_path, "-j", "2")
    assert code == 1
    assert report["failed"] == 1
    by_model = {m["model"]: m for m in report["models"]}
    assert by_model["resnet50_v1"]["status"] == "ok"
    failed = [s for s in by_model["resnet34_ssd1200"]["stages"] if s["status"] == "failed"]
    assert "detection.heads.box_inputs[2]" in failed[0]["error"]
    proc = zoo_process(tmp_path, "run", "--all")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 1 and "resnet34_ssd1200  convert:onnx" in out and "1 failed" in out


def test_killed_runs_resume_to_a_complete_verified_zoo(server: FileServer, tmp_path: Path) -> None:
    two_models(server, tmp_path)
    for delay in (0.5, 2.0, 4.0, 6.0, 8.0):
        proc = zoo_process(tmp_path, "run", "--all")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        for manifest_file in (tmp_path / "zoo").glob("*/*/manifest.json"):  # what claims to be done, is
            manifest = json.loads(manifest_file.read_text())
            assert (
                file_checksum(manifest_file.parent / manifest["output"]["file"])
                == manifest["output"]["checksum"]
            )
    code, _, err = zoo_run(tmp_path)
    assert code == 0, err
    assert_complete_and_verified(tmp_path / "zoo")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_stops_cleanly(server: FileServer, tmp_path: Path, jobs: str) -> None:
    """Issue #11, point 16: nothing is left, under -j 1 and -j 2 (workers stopped, their leftovers removed)."""
    two_models(server, tmp_path)
    proc = zoo_process(tmp_path, "run", "--all", "-j", jobs)
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130
    assert "zoo: interrupted: finished" in err and "rerun to continue" in err
    assert "Exception ignored" not in err and "Traceback" not in err
    leftovers = [
        p
        for p in (tmp_path / "zoo").rglob("*")
        if p.name.endswith(".tmp") or p.name.startswith((".tidl-", ".trimmed-", ".unpack-"))
    ]
    assert not leftovers


def test_two_runs_on_one_zoo_serialise_per_model(server: FileServer, tmp_path: Path) -> None:
    two_models(server, tmp_path)
    first, second = (
        zoo_process(tmp_path, "run", "--all", "--json"),
        zoo_process(tmp_path, "run", "--all", "--json"),
    )
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # drain both pipes at once: a full pipe would block its writer
        (out1, err1), (out2, err2) = pool.map(lambda p: p.communicate(timeout=600), (first, second))
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    stages = [statuses(json.loads(out1)), statuses(json.loads(out2))]
    key = ("resnet50_v1", "convert:tflite-float32")
    assert sorted(s[key] for s in stages) == ["done", "skipped"]  # one converted, the other found it done
    assert_complete_and_verified(tmp_path / "zoo")


def test_clean_removes_artefacts_but_not_sources_or_cache(server: FileServer, tmp_path: Path) -> None:
    two_models(server, tmp_path)
    code, _, err = zoo_run(tmp_path)
    assert code == 0, err
    cached = sorted(p for p in (tmp_path / "cache").rglob("*") if p.is_file())
    proc = zoo_process(tmp_path, "clean", "resnet50_v1")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "download cache was kept" in out
    model = tmp_path / "zoo" / "resnet50_v1"
    assert sorted(p.name for p in model.iterdir() if p.name != ".lock") == ["source"]
    assert (tmp_path / "zoo" / "resnet34_ssd1200" / "tidl").is_dir()
    assert sorted(p for p in (tmp_path / "cache").rglob("*") if p.is_file()) == cached
    code, report, _ = zoo_run(tmp_path)
    assert code == 0 and statuses(report)[("resnet50_v1", "convert:tflite-float32")] == "done"
