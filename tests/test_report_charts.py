"""Issue 28, point 8: the report's charts are legible in a browser at the usual window widths. Measured in
headless Chromium, not judged from a screenshot: a script added to a copy of the page writes every chart
text's rendered size (its font size times the SVG's scale on screen) and its bounding box into the DOM,
which Chromium dumps. Checked at a 1280 px and an 800 px window: no chart text is smaller than the page's
small text, no two texts of a chart overlap, and axis numbers are round."""

from __future__ import annotations

import html
import json
import re
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

from conftest import minimal_recipe, write_recipe
from test_report import CHROMIUM, MANIFEST, needs_chromium, zoo

# Added to a copy of the page (the page itself has no script): what Chromium laid out, as JSON in <pre>.
MEASURE = """
(function () {
  const out = {small: parseFloat(getComputedStyle(document.querySelector('.lim')).fontSize), texts: []};
  document.querySelectorAll('figure.chart').forEach(function (figure, chart) {
    const svg = figure.querySelector('svg');
    svg.querySelectorAll('text').forEach(function (t) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || r.width === 0) return;
      const m = t.getScreenCTM();
      const classes = [];
      for (let e = t.parentElement; e && e !== svg; e = e.parentElement) classes.push(e.getAttribute('class') || '');
      out.texts.push({chart: chart, text: t.textContent.trim(), classes: classes.join(' '),
        px: parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b),
        box: [r.left, r.top, r.right, r.bottom]});
    });
  });
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
"""
ROUND = re.compile(r"^(-?\d+(\.\d{1,3})?|1e-?\d+)$")  # 0, 2.5, 0.85, 4000, 1e-3


def measured(page: Path, width: int) -> dict[str, Any]:
    assert CHROMIUM is not None
    probe = page.with_name(f"measure-{width}.html")
    probe.write_text(page.read_text().replace("</body>", f"<script>{MEASURE}</script></body>"))
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},1200", "--dump-dom", probe.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


def overlap(a: list[float], b: list[float]) -> float:
    """The area two boxes share (px²)."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def charts_zoo(tmp_path: Path) -> None:
    """``single``: one target of 3,569,403 bytes (3485.745117 KiB: the issue's one-target chart);
    ``three``: float, int8 and ONNX targets judged on top-1, one of them with 40 diagnosed layers of long
    names; ``errors``: errors over four decades (a log axis) and a failed target."""
    recipes = tmp_path / "recipes"
    figures = {
        "single": [("tflite-int8", 3_569_403, 0.97, 0.2, True)],
        "three": [
            ("tflite-float32", 1_234_567, 1.0, 1e-6, True),
            ("tflite-int8", 345_678, 0.91, 0.05, True),
            ("onnx", 1_250_000, 1.0, 2e-6, True),
        ],
        "errors": [("tflite-float32", 90_000, None, 3e-6, True), ("tflite-int8", 30_000, None, 0.3, False)],
    }
    for model, targets in figures.items():
        doc = minimal_recipe(model)
        doc["targets"] = [
            {"name": t, "format": "tflite", "quantization": "int8" if "int8" in t else "float32"}
            for t, *_ in targets
            if t != "onnx"
        ] + [{"name": "onnx", "format": "onnx"} for t, *_ in targets if t == "onnx"]
        write_recipe(recipes, doc)
        for target, size, top1, max_rel, passed in targets:
            manifest = json.loads(json.dumps(MANIFEST))
            manifest["target"].update(name=target, quantization="int8" if "int8" in target else "float32")
            manifest["output"]["size"] = size
            v = manifest["verification"]
            v.update(passed=passed, outputs={"output": {"max_abs": max_rel, "max_rel": max_rel}})
            v.pop("top1")
            v["top1_agreement"] = top1
            if model == "three" and target == "tflite-int8":
                manifest["diagnosis"] = [
                    {"tensor": f"model/block_{i}/depthwise_conv2d/BatchNormalization/FusedBatchNormV3;x{i}",
                     "sqnr_db": 8.0 + i}
                    for i in range(40)
                ]  # fmt: skip
            else:
                manifest.pop("diagnosis")
            folder = tmp_path / "zoo" / model / target
            folder.mkdir(parents=True)
            (folder / "manifest.json").write_text(json.dumps(manifest))


@needs_chromium
def test_the_charts_are_legible_at_1280_and_800_px(tmp_path: Path) -> None:
    charts_zoo(tmp_path)
    out = tmp_path / "out"
    proc = zoo(tmp_path, "report", "--all", "--zoo-dir", str(tmp_path / "zoo"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    for width in (1280, 800):
        data = measured(out / "index.html", width)
        texts = data["texts"]
        assert {t["chart"] for t in texts} == {0, 1, 2, 3}  # three size charts, one diagnosis chart
        assert data["small"] >= 11  # the page's small text (.lim: 0.85 of 14 px)
        small = [(t["text"], round(t["px"], 1)) for t in texts if t["px"] < data["small"] - 0.01]
        assert not small, (
            f"{width} px: chart text smaller than the page's small text ({data['small']} px): {small}"
        )
        for a, b in combinations(texts, 2):
            if a["chart"] == b["chart"]:
                assert overlap(a["box"], b["box"]) < 1.0, f"{width} px: {a['text']!r} overlaps {b['text']!r}"
        numbers = [t["text"] for t in texts if "axis" in t["classes"] and re.match(r"^[-\d.e]+$", t["text"])]
        assert numbers and all(ROUND.match(n) for n in numbers), numbers
    single = [t["text"] for t in data["texts"] if t["chart"] == 2 and "axis x" in t["classes"]]
    assert len([n for n in single if ROUND.match(n)]) >= 3, single  # not one label "3485.745117"
    assert "3485.745117" not in (out / "index.html").read_text()
