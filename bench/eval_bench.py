#!/usr/bin/env python3
"""Evaluation of the MLPerf Tiny zoo on the four shared labelled sets (ic01, vww01, kws01, ad01), every
artefact: the time per model and per artefact (source, LiteRT targets, TFLM packages, OpenVINO float and
int8, the upstream's own int8), with the figure measured and the samples it ran on.

It first brings the zoo up to date (`zoo --recipes mlperf-tiny run --all --data ... --offline`, files from
../shared/models; converted once, then current), then times `zookit.evaluate.evaluate_model` per model in
this process (the source model prepared beforehand, not timed). Figures are printed, never asserted.

Run: .venv/bin/python bench/eval_bench.py [ZOO_DIR]   (default: bench/.work/eval-zoo)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from common import WORK, table, zoo_command

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models"
DATA = SHARED / "mlperf_tiny" / "eval"
MODELS = ("ic_resnet8", "vww_mobilenet", "kws_dscnn", "ad_autoencoder")


def prepare_zoo(zoo: Path) -> None:
    argv = [*zoo_command(), "--recipes", "mlperf-tiny", "run", *MODELS, "--mirror", str(SHARED), "--offline"]
    argv += ["--data", str(DATA), "--zoo-dir", str(zoo), "--cache-dir", str(WORK / "eval-cache")]
    # oneDNN off: the AD float target's tolerance was set with it off (another helper's part of issue 27)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(
            f"zoo run failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
        )


def measure(zoo: Path) -> list[tuple[str, ...]]:
    from zookit.convert.prepare import prepare
    from zookit.datasets.labelled import locate
    from zookit.evaluate import EvaluationError, evaluate_model
    from zookit.pipeline.evaluation import record_of
    from zookit.recipe import RecipeBook, recipes_dir

    book = RecipeBook(recipes_dir("mlperf-tiny"))
    rows: list[tuple[str, ...]] = []
    total = 0.0
    for name in MODELS:
        recipe = book.get(name)
        assert recipe.evaluation is not None
        labelled = locate(recipe.evaluation, (DATA,))
        prepared = prepare(recipe, zoo)
        started = time.monotonic()
        try:
            record = evaluate_model(prepared, zoo, labelled)
        except EvaluationError:  # a target over its drop: the record is written all the same
            record = record_of(zoo, name) or {}
        seconds = time.monotonic() - started
        total += seconds
        rows.append((name, "all artefacts", f"{seconds:.1f} s", record["measured_on"], ""))
        for f in record["figures"]:
            figure = f"{record['metric']} {f['value']:.3f}"
            rows.append(("", f["name"], f"{f['seconds']:.2f} s", figure, f["runtime"]))
    rows.append(("all four sets", "", f"{total:.1f} s", "", ""))
    return rows


def main() -> None:
    if not DATA.is_dir():
        sys.exit(f"the shared evaluation sets are not at {DATA}")
    zoo = Path(sys.argv[1]) if len(sys.argv) > 1 else WORK / "eval-zoo"
    prepare_zoo(zoo)
    print(table(measure(zoo), ("model", "artefact", "time", "figure (held-out part)", "runtime")))


if __name__ == "__main__":
    main()
