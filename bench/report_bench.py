#!/usr/bin/env python3
"""`zoo report --all` over a zoo of 100 models (3 targets each, a TFLM record for two, a TIDL package for
one): the wall time of the whole command, every chart drawn (charts are not cached since issue 28: a cached
drawing was inlined as read, planted content with it).

The zoo is written by hand (records of the shape the stages write), so no conversion runs. Figures are
printed, never asserted. Run: .venv/bin/python bench/report_bench.py
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

import yaml

from common import WORK, median_runs, run_measured, table, zoo_command

MODELS = 100


def recipe(name: str) -> dict[str, object]:
    return {
        "name": name,
        "description": f"benchmark model {name}",
        "task": "classification",
        "license": "MIT",
        "sources": [
            {"file": f"{name}.pb", "urls": ["http://127.0.0.1:9/x.pb"], "size": None, "checksum": None}
        ],
        "model": {"format": "tf-frozen-graph", "path": f"{name}.pb"},
        "outputs": [{"name": "output", "shape": [1, 4], "dtype": "float32"}],
        "targets": [
            {"name": "tflite-float32", "format": "tflite", "c_array": True},
            {"name": "tflite-int8", "format": "tflite", "quantization": "int8", "c_array": True},
            {"name": "onnx", "format": "onnx"},
        ],
        "inputs": [{"name": "input", "shape": [1, 8, 8, 3], "layout": "NHWC"}],
        "preprocessing": {
            "mean": [127.5] * 3,
            "scale": [0.0078125] * 3,
            "channel_order": "RGB",
            "layout": "NHWC",
        },
        "tidl": {"target": "onnx"},
    }


def manifest(rng: random.Random, target: dict[str, object]) -> dict[str, object]:
    error = rng.uniform(1e-7, 1e-2)
    return {
        "recipe": "x",
        "target": {**target, "tolerance": {"max_abs": 0.05}},
        "output": {"file": "m.bin", "size": rng.randint(10_000, 5_000_000), "checksum": "sha256:00"},
        "verification": {
            "passed": True,
            "outputs": {"output": {"max_abs": error, "max_rel": error / 2}},
            "top1_agreement": rng.uniform(0.8, 1.0),
            "top1_decisive_samples": 10,
        },
        "sources": {"x.pb": "sha256:00"},
        "versions": {"zookit": "0.1.0", "tensorflow-cpu": "2.21.0"},
        "options": {"quantization": target.get("quantization", "float32")},
        "timing": {"convert_s": 0.2},
        "created": "2026-01-01T00:00:00+00:00",
    }


def prepare(work: Path) -> tuple[Path, Path]:
    recipes, zoo = work / "recipes", work / "zoo"
    recipes.mkdir(parents=True)
    rng = random.Random(0)
    for i in range(MODELS):
        doc = recipe(f"model{i:03d}")
        (recipes / f"{doc['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        for target in doc["targets"]:  # type: ignore[attr-defined]
            folder = zoo / str(doc["name"]) / target["name"]
            folder.mkdir(parents=True)
            (folder / "manifest.json").write_text(json.dumps(manifest(rng, target)))
            if target["format"] == "tflite":
                tflm = {
                    "arena": {"measured": 20000, "size": 22000},
                    "flash_bytes": 50000,
                    "ops": {"CONV_2D": 3},
                }
                (folder / "tflm.json").write_text(json.dumps({**tflm, "verification": {"passed": True}}))
        tidl = zoo / str(doc["name"]) / "tidl"
        tidl.mkdir()
        check = [{"op": "TopK", "node": "top", "reason": "not a TIDL layer", "where": "arm"}]
        (tidl / "package.json").write_text(
            json.dumps({"files": {"a": "sha256:00"}, "ready_to_import": True, "check": check})
        )
    return recipes, zoo


def measure(repeat: int = 3) -> list[tuple[str, ...]]:
    work = WORK / "report"
    shutil.rmtree(work, ignore_errors=True)
    recipes, zoo = prepare(work)
    argv = [*zoo_command(), "--recipes", str(recipes), "report", "--all", "--zoo-dir", str(zoo)]
    rows = []
    runs = [run_measured(argv, env={"ZOO_CACHE_DIR": str(work / "cache")}) for _ in range(repeat)]
    size = (zoo / "report" / "index.html").stat().st_size
    for what in ("every chart drawn (charts are not cached: issue 28)",):
        wall, peak, spread = median_runs(runs)
        rows.append(
            (
                f"zoo report --all, {MODELS} models: {what}",
                f"{wall:.2f} s",
                f"median of {repeat} ({spread}); {peak:.0f} MB",
            )
        )
    rows.append(
        ("the page", f"{size / 1e6:.1f} MB", f"{MODELS} models, {3 * MODELS} targets, self-contained")
    )
    return rows


if __name__ == "__main__":
    print(table(measure(), ("what", "figure", "notes")))
    sys.exit(0)
