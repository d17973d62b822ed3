"""`zoo report`: the zoo's page, seen as a person sees it (rendered by headless Chromium: a screenshot
that is not blank, the rendered DOM's rows and charts), the regressions against an earlier report, and
hostile input (bad baselines, corrupted or foreign records, bad paths) answered in one line or on the
page, never with a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conftest import FileServer, minimal_recipe, write_recipe
from test_pipeline import edit, small_zoo
from zookit.__main__ import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium; .ci/run does)",
)


def zoo(tmp_path: Path, *argv: str, recipes: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "zookit",
            "--recipes",
            str(recipes or tmp_path / "recipes"),
            *argv,
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache"), TF_CPP_MIN_LOG_LEVEL="2"),
        timeout=600,
    )


def no_traceback(proc: subprocess.CompletedProcess[str]) -> str:
    err = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    assert "Traceback" not in err and "internal error" not in err, err
    return err


class Dom(HTMLParser):
    """What the browser rendered: elements by tag and class, the table's rows, the text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def rows(self) -> dict[tuple[str | None, str | None], str | None]:
        return {
            (a.get("data-model"), a.get("data-target")): a.get("data-status")
            for t, a in self.tags
            if t == "tr" and a.get("class") == "target-row"
        }

    def count(self, tag: str, cls: str | None = None) -> int:
        return sum(
            1 for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())
        )


def in_chromium(page: Path, shot: Path) -> Dom:
    """The page rendered by headless Chromium: a screenshot that shows something, and the rendered DOM."""
    assert CHROMIUM is not None
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=1280,1600", page.resolve().as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from PIL import Image

    with Image.open(shot) as image:
        colors = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 50, "the screenshot is blank"  # None: more colours than counted
    dom = subprocess.run(
        [*common, "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "<h1>zookit report</h1>" in dom
    return Dom(dom)


@pytest.mark.slow
@needs_chromium
def test_the_page_of_a_real_zoo_in_a_browser_and_regressions_against_an_earlier_report(
    server: FileServer, tmp_path: Path
) -> None:
    small_zoo(server, tmp_path)
    recipes = tmp_path / "recipes"
    edit(recipes / "cls_a.yaml", "a toy model for tests", "<script>alert(1)</script> a toy")
    gone = minimal_recipe("gone")
    gone["sources"][0].update(urls=[server.add("gone.pb", b"", mode="404")])
    write_recipe(recipes, gone)
    run = zoo(
        tmp_path, "run", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--report", str(tmp_path / "run.html")
    )
    assert run.returncode == 1, run.stderr  # `gone` cannot be fetched: a failed stage on the page
    dom = in_chromium(tmp_path / "run.html", tmp_path / "run.png")
    assert dom.rows()[("gone", "tflite-float32")] == "missing"
    assert any("the run failed" in t for t in dom.text)
    assert (tmp_path / "run.json").is_file()

    # A quantization diagnosis (issue 21's manifest key) is drawn per layer; names are text, not markup.
    manifest_file = tmp_path / "zoo/cls_a/onnx/manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["diagnosis"] = [{"tensor": "<script>bad()</script>", "op": "Conv", "sqnr_db": 12.5}] + [
        {"tensor": f"layer{i}", "op": "Relu", "sqnr_db": 30.0 + i} for i in range(5)
    ]
    manifest_file.write_text(json.dumps(manifest))
    out = tmp_path / "page"
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "tensorflow" not in proc.stderr and "onnxruntime" not in proc.stderr  # -X importtime: every import
    assert (
        f"wrote {out / 'index.html'}: 3 model(s), 3 target(s): 2 passed, 0 failed, 1 missing" in proc.stdout
    )
    dom = in_chromium(out / "index.html", tmp_path / "page.png")
    assert dom.rows() == {
        ("cls_a", "onnx"): "passed",
        ("cls_b", "onnx"): "passed",
        ("gone", "tflite-float32"): "missing",
    }
    assert dom.count("figure", "chart-size") == 2 and dom.count("figure", "chart-diagnosis") == 1
    assert (
        dom.count("svg") == 3 and dom.count("path") > 20 and "layer4" in dom.text
    )  # charts as SVG, text as text
    assert dom.count("script") == 0  # what a description or a tensor name holds is shown, never run
    text = "".join(dom.text)
    assert "<script>alert(1)</script> a toy" in text and "<script>bad()</script>" in text
    assert "ready to import" in text or "not ready" in text  # the TIDL package's facts
    assert "not fetched" in text or "gone" in text

    # The same zoo with one recipe's tolerance changed: --baseline lists exactly that change.
    baseline = tmp_path / "old.json"
    shutil.copy(out / "report.json", baseline)
    edit(recipes / "cls_b.yaml", "max_abs: 1.0e-05", "max_abs: 2.0e-05")
    assert zoo(tmp_path, "run", "cls_a", "cls_b", "--zoo-dir", str(tmp_path / "zoo")).returncode == 0
    argv = [
        "report",
        "--all",
        "--zoo-dir",
        str(tmp_path / "zoo"),
        "--out",
        str(out),
        "--baseline",
        str(baseline),
    ]
    proc = zoo(tmp_path, *argv, "--fail-on-regression", "--json")
    assert proc.returncode == 0, proc.stderr
    regressions = json.loads(proc.stdout)["regressions"]
    assert regressions["worse"] == [] and regressions["better"] == []
    assert regressions["changed"] == [
        {"model": "cls_b", "item": "onnx", "what": "tolerance", "old": {"max_abs": 1e-05, "top1_agreement": 1.0},
         "new": {"max_abs": 2e-05, "top1_agreement": 1.0}}
    ]  # fmt: skip
    proc = zoo(tmp_path, *argv)
    assert "changed: cls_b onnx: tolerance max_abs 1e-05, top1_agreement 1 -> max_abs 2e-05" in proc.stdout

    # A corrupted manifest: reported on the page and as a regression (exit 1 with --fail-on-regression).
    manifest_file.write_text('{"recipe": "cls_a", "verif')
    proc = zoo(tmp_path, *argv, "--fail-on-regression")
    assert proc.returncode == 1, proc.stderr
    assert "worse: cls_a onnx: status passed -> unreadable" in proc.stdout
    assert "unreadable: cls_a onnx: manifest.json is not readable JSON (corrupted?)" in no_traceback(proc)
    dom = in_chromium(out / "index.html", tmp_path / "corrupt.png")
    assert dom.rows()[("cls_a", "onnx")] == "unreadable" and dom.count("ul", "regression-worse") == 1


@needs_chromium
def test_the_page_of_an_empty_zoo_renders(tmp_path: Path) -> None:
    write_recipe(tmp_path / "recipes", minimal_recipe("toy"))
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"))
    assert proc.returncode == 0, proc.stderr
    assert "1 model(s), 1 target(s): 0 passed, 0 failed, 1 missing" in proc.stdout
    dom = in_chromium(tmp_path / "zoo/report/index.html", tmp_path / "empty.png")
    assert dom.rows() == {("toy", "tflite-float32"): "missing"} and dom.count("svg") == 0
    (tmp_path / "none").mkdir()
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), recipes=tmp_path / "none")
    assert proc.returncode == 0, proc.stderr
    dom = in_chromium(tmp_path / "zoo/report/index.html", tmp_path / "none.png")
    assert dom.rows() == {} and any("No models in this report" in t for t in dom.text)


def a_zoo_of_records(tmp_path: Path) -> Path:
    """Recipes and hand-written records: a good manifest, a foreign one, a corrupted TFLM record."""
    recipes = tmp_path / "recipes"
    for name in ("good", "foreign"):
        doc = minimal_recipe(name)
        doc["targets"] = [
            {"name": "tflite-int8", "format": "tflite", "quantization": "int8", "c_array": True}
        ]
        write_recipe(recipes, doc)
    folder = tmp_path / "zoo/good/tflite-int8"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(MANIFEST))
    (folder / "tflm.json").write_text("[1, 2")
    foreign = tmp_path / "zoo/foreign/tflite-int8"
    foreign.mkdir(parents=True)
    (foreign / "manifest.json").write_text(json.dumps({"name": "someone else's", "layers": 3}))
    (tmp_path / "zoo/stray/onnx").mkdir(parents=True)
    (tmp_path / "zoo/stray/onnx/manifest.json").write_text(json.dumps(MANIFEST))
    return recipes


MANIFEST: dict[str, Any] = {
    "target": {
        "name": "tflite-int8",
        "format": "tflite",
        "quantization": "int8",
        "tolerance": {"top1_agreement": None},
    },
    "output": {"file": "good.tflite", "size": 2048, "checksum": "sha256:00"},
    "verification": {
        "passed": True,
        "outputs": {"output": {"max_abs": 0.25, "max_rel": 0.1}},
        "top1_agreement": 0.9,
        "top1_decisive_samples": 10,
        "top1": {"judged_on": "real_images", "real_images": {"agreement": 0.75, "samples": 4}},
    },
    "created": "2024-01-01T00:00:00+00:00",
    "diagnosis": {"layers": [{"tensor": "a", "sqnr_db": "n/a"}, "junk", {"op": "Conv", "sqnr_db": 31.5}]},
}


def test_corrupted_and_foreign_records_are_shown_as_such_and_hostile_options_get_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipes = a_zoo_of_records(tmp_path)
    out = tmp_path / "out"
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "tensorflow" not in proc.stderr and "pygal" in proc.stderr  # -X importtime lists every import
    doc = json.loads(proc.stdout)
    models = {m["name"]: m for m in doc["models"]}
    good = models["good"]["targets"][0]
    assert (good["status"], good["top1_agreement"], good["top1_samples"], good["top1_on"]) == (
        "passed", 0.75, 4, "real images"
    )  # fmt: skip
    assert good["tolerance"] == {"top1_agreement": 0.8} and good["tolerance_from"] == "default"
    assert [d["name"] for d in good["diagnosis"]] == ["a", "Conv"]
    assert models["good"]["deployers"][0]["status"] == "unreadable"  # tflm.json is not JSON
    foreign = models["foreign"]["targets"][0]
    assert foreign["status"] == "unreadable" and "not a zookit manifest" in foreign["problem"]
    assert "stray" not in models and doc["left_out"] == ["stray"]  # no recipe of the folder names it
    html = (out / "index.html").read_text()
    assert "not a zookit manifest" in html
    assert json.loads((out / "report.json").read_text())["format"] == "zookit-report"

    bad = tmp_path / "bad.json"
    cases = {
        "not JSON": ("{oops", "--baseline"),
        "not a zoo report": ('{"models": 3}', "--baseline"),
        "cannot read it": (None, "--baseline"),
        "not a `zoo run --report` file": ("[]", "--run"),
    }
    for message, (content, option) in cases.items():
        if content is None:
            bad.unlink(missing_ok=True)
        else:
            bad.write_text(content)
        proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), option, str(bad))
        err = no_traceback(proc)
        assert proc.returncode == 2 and f"{option} {bad}: {message}" in err, err
    for argv, message in (
        (["--out", str(bad.parent / "afile")], "exists and is not a folder"),
        (["--fail-on-regression"], "needs --baseline"),
    ):
        (bad.parent / "afile").write_text("x")
        proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), *argv)
        assert proc.returncode == 2 and message in no_traceback(proc), proc.stderr
    for option in ("--out", "--baseline", "--run", "--zoo-dir"):  # NUL cannot pass a process's arguments
        with pytest.raises(SystemExit) as exit_:
            main(["--recipes", str(recipes), "report", "--all", option, "a\0b"])
        assert exit_.value.code == 2 and "NUL" in capsys.readouterr().err
    proc = zoo(tmp_path, "report", "nope", "--zoo-dir", str(tmp_path / "zoo"), recipes=recipes)
    assert proc.returncode == 2 and re.search(r"nope", no_traceback(proc))


def test_the_default_tolerances_are_verifications() -> None:
    from zookit.report.collect import DEFAULT_TOLERANCE
    from zookit.verify.compare import DEFAULT_TOLERANCE as VERIFIED

    assert {k: v.model_dump(exclude_none=True) for k, v in VERIFIED.items()} == DEFAULT_TOLERANCE


def test_the_api_reports_and_compares(tmp_path: Path) -> None:
    import zookit

    recipes = a_zoo_of_records(tmp_path)
    zoo_ = zookit.Zoo.open(recipes, zoo_dir=tmp_path / "zoo", cache_dir=tmp_path / "cache")
    first = zoo_.report(out=tmp_path / "r")
    assert (tmp_path / "r/index.html").is_file() and first["totals"][
        "passed"
    ] == 1  # "stray" is left out: no recipe names it
    manifest = tmp_path / "zoo/good/tflite-int8/manifest.json"
    data = json.loads(manifest.read_text())
    data["verification"]["top1"]["real_images"]["agreement"] = 0.5
    data["output"]["size"] = 1024
    manifest.write_text(json.dumps(data))
    doc = zoo_.report(["good"], baseline=tmp_path / "r/report.json")
    worse = [(e["item"], e["what"], e["old"], e["new"]) for e in doc["regressions"]["worse"]]
    better = [(e["item"], e["what"], e["old"], e["new"]) for e in doc["regressions"]["better"]]
    assert worse == [("tflite-int8", "top-1 agreement", 0.75, 0.5)]
    assert better == [("tflite-int8", "size", 2048, 1024)]
