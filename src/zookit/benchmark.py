"""`zoo benchmark`: latency of a model's converted targets and packages on this CPU, across thread counts,
as OpenVINO's benchmark_app measures it (synchronous inference of one sample, warm-up runs not counted,
then a stated number of timed runs; the median and the 10th and 90th percentiles).

Each target runs in the runtime a device would use for it: a TFLite target in LiteRT (``num_threads``),
an ONNX target in ONNX Runtime (``intra_op_num_threads``, one inter-op thread), the OpenVINO package's
float and int8 IRs in OpenVINO (``INFERENCE_NUM_THREADS``, one stream). Inputs are seeded random values
of each input's shape and dtype (latency does not depend on them, except for a model with a data-dependent
post-process such as NMS). The figures are written to ``zoo/<model>/benchmark.json`` (the last run's).
Heavy libraries are imported by the functions that run them.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from zookit.errors import UsageError
from zookit.fsutil import write_json
from zookit.layout import Layout
from zookit.libs import load
from zookit.recipe import Recipe
from zookit.records import Manifest

METHOD = (
    "synchronous inference of one sample (seeded random inputs), warm-up runs not counted, each timed run "
    "measured with time.perf_counter"
)


def _random(shape: list[int], dtype: Any, rng: np.random.Generator) -> np.ndarray:
    shape = [int(d) if isinstance(d, (int, np.integer)) and d > 0 else 1 for d in shape]  # open: 1
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -128), min(info.max, 255) + 1, shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def _litert(path: Path, threads: int) -> Callable[[], Any]:
    interpreter_class = load("ai_edge_litert.interpreter").Interpreter
    interpreter = interpreter_class(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in interpreter.get_input_details():
        interpreter.set_tensor(d["index"], _random(list(d["shape"]), d["dtype"], rng))
    return interpreter.invoke  # type: ignore[no-any-return]


def _onnxruntime(path: Path, threads: int) -> Callable[[], Any]:
    ort = load("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    types = {
        "tensor(float)": np.float32,
        "tensor(uint8)": np.uint8,
        "tensor(int8)": np.int8,
        "tensor(int64)": np.int64,
        "tensor(int32)": np.int32,
        "tensor(float16)": np.float16,
    }
    feed = {i.name: _random(list(i.shape), types.get(i.type, np.float32), rng) for i in session.get_inputs()}
    return lambda: session.run(None, feed)


def _openvino(path: Path, threads: int) -> Callable[[], Any]:
    ov = load("openvino")
    core = ov.Core()
    model = core.read_model(str(path))
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    rng = np.random.default_rng(0)
    feed = [
        _random(list(p.get_partial_shape().get_min_shape()), p.get_element_type().to_dtype(), rng)
        for p in compiled.inputs
    ]
    return lambda: request.infer(feed)


RUNTIMES: dict[str, Callable[[Path, int], Callable[[], Any]]] = {
    "litert": _litert,
    "onnxruntime": _onnxruntime,
    "openvino": _openvino,
}


def timed(run: Callable[[], Any], warmup: int, runs: int) -> dict[str, Any]:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    deciles = statistics.quantiles(times, n=10, method="inclusive") if runs > 1 else [times[0]] * 9
    return {
        "median_ms": round(statistics.median(times), 4),
        "p10_ms": round(deciles[0], 4),
        "p90_ms": round(deciles[-1], 4),
        "min_ms": round(min(times), 4),
    }


def candidates(recipe: Recipe, zoo_dir: Path) -> list[tuple[str, str, Path]]:
    """(name, runtime, file) of everything of the model there is to time: each converted target whose
    file is intact, and the OpenVINO package's IRs (``openvino``, ``openvino-int8``)."""
    layout = Layout(zoo_dir)
    out = []
    for target in recipe.targets:
        folder = layout.target(recipe.name, target.name)
        manifest = Manifest.load(folder)
        if manifest is None or not manifest.output.intact(folder):
            continue
        runtime = {"tflite": "litert", "onnx": "onnxruntime"}.get(target.format)
        if runtime:
            out.append((target.name, runtime, folder / manifest.output.file))
    package = layout.deploy(recipe.name, "openvino")
    for name, file in (("openvino", f"{recipe.name}.xml"), ("openvino-int8", f"{recipe.name}_int8.xml")):
        if (package / "package.json").is_file() and (package / file).is_file():
            out.append((name, "openvino", package / file))
    return out


def benchmark(
    recipe: Recipe,
    zoo_dir: Path,
    targets: list[str] | None,
    threads: list[int],
    warmup: int = 10,
    runs: int = 50,
) -> dict[str, Any]:
    """Time each of the model's targets (all, or ``targets``) at each thread count; the document is
    written to ``zoo/<model>/benchmark.json`` and returned."""
    found = candidates(recipe, zoo_dir)
    names = [name for name, _, _ in found]
    unknown = [t for t in targets or [] if t not in names]
    if unknown or not found:
        have = ", ".join(names) or "nothing converted yet"
        raise UsageError(
            f"{recipe.name}: --target {unknown[0]}: not made ({have}); run `zoo run {recipe.name}` first"
            if unknown
            else f"{recipe.name}: nothing to time: no target is converted; run `zoo run {recipe.name}` first"
        )
    rows = []
    for name, runtime, path in found:
        if targets and name not in targets:
            continue
        for n in threads:
            row = {"target": name, "runtime": runtime, "file": path.name, "threads": n}
            rows.append(row | timed(RUNTIMES[runtime](path, n), warmup, runs))
    document = {
        "model": recipe.name,
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "warmup": warmup,
        "runs": runs,
        "method": METHOD,
        "results": rows,
    }
    write_json(Layout(zoo_dir).model(recipe.name) / "benchmark.json", document)
    return document
