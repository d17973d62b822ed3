"""What is measured on a labelled set, each with the runtime it runs under: the source model, every
converted target under its host runtime (TFLite: LiteRT, ONNX: onnxruntime), every TFLM package under
TensorFlow Lite Micro itself (in its recorded arena), the OpenVINO float and int8 IR (CPU plugin, f32
inference precision as verified), and the upstream's own model a target is compared with (LiteRT).

Each entry is found from the zoo's records; nothing is converted here. Heavy libraries are imported only
when an entry is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zookit.layout import Layout
from zookit.records import Manifest
from zookit.reference import Prepared, Runner


@dataclass(frozen=True)
class Entry:
    name: str  # source, tflite-int8, tflm:tflite-int8, openvino:int8, upstream:<file>
    runtime: str  # what ran it (runtime and kernels)
    size: int | None  # the model file's bytes (None: unknown)
    checksum: str | None  # what the figure is of (its key)
    make: Callable[[], Runner]
    gated: bool = True  # the upstream's own model is shown, not judged
    batched: bool = False  # the runtime may take the whole set as one batch (else one sample a time)


def _file_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def entries(prepared: Prepared, zoo_dir: Path, only: set[str] | None = None) -> list[Entry]:
    """Every figure a model's evaluation makes, in order: source, targets, TFLM, OpenVINO, upstream.
    ``only``: the target names to measure (the source is always measured: the gate compares with it)."""
    from zookit.convert.prepare import model_path

    recipe = prepared.recipe
    layout = Layout(zoo_dir)
    source = model_path(recipe, zoo_dir)
    assert prepared.reference is not None
    reference = prepared.reference
    kind = "onnxruntime (CPU)" if prepared.kind == "onnx" else "TensorFlow (the source graph)"
    if prepared.kind == "tflite":
        kind = "LiteRT (default kernels)"

    def make() -> Runner:  # a TF graph runs the whole set in one batch when its shapes allow
        return (_tf_any_batch(prepared) if prepared.graph_def is not None else None) or reference

    out = [Entry("source", kind, _file_size(source), None, make, gated=False, batched=True)]
    upstream: list[str] = []
    for target in recipe.targets:
        if only is not None and target.name not in only:
            continue
        folder = layout.target(recipe.name, target.name)
        manifest = Manifest.load(folder)
        if manifest is None or not manifest.output.intact(folder):
            continue
        out += _target_entries(prepared, folder, manifest, target.format, target)
        if target.compare_with and target.compare_with not in upstream and prepared.folder is not None:
            upstream.append(target.compare_with)
    if recipe.openvino is not None and (only is None or "openvino" in only or recipe.openvino.target in only):
        out += _openvino_entries(prepared, layout.deploy(recipe.name, "openvino"))
    for file in upstream:
        assert prepared.folder is not None
        path = prepared.folder / file
        if path.is_file():
            out.append(
                Entry(
                    f"upstream:{file}",
                    "LiteRT (default kernels)",
                    path.stat().st_size,
                    None,
                    _tflite(path, prepared),
                    gated=False,
                )
            )
    return out


def _tf_any_batch(prepared: Prepared) -> Runner | None:
    """The source graph with its inputs fed by placeholders of any batch (the whole set in one run);
    None when the graph's shapes are fixed to a batch of 1."""
    from zookit.libs import load
    from zookit.runtimes.tensorflow import tf_session_config

    tf = load("tensorflow")
    graph = tf.Graph()
    try:
        with graph.as_default():
            feeds = {
                p.name: tf.compat.v1.placeholder(p.dtype, [None, *p.shape[1:]], name=f"zoo_eval_{i}")
                for i, p in enumerate(prepared.inputs)
            }
            fetched = tf.graph_util.import_graph_def(
                prepared.graph_def,
                input_map={f"{k}:0": v for k, v in feeds.items()},
                return_elements=[f"{p.name}:0" for p in prepared.outputs],
                name="",
            )
    except (ValueError, TypeError):
        return None
    session = tf.compat.v1.Session(graph=graph, config=tf_session_config())

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = session.run(fetched, {feeds[k]: v for k, v in feed.items()})
        return {p.name: np.asarray(v) for p, v in zip(prepared.outputs, values, strict=True)}

    return run


def _tflite(path: Path, prepared: Prepared) -> Callable[[], Runner]:
    def make() -> Runner:
        from zookit.runtimes.litert import tflite_runner

        return tflite_runner(path.read_bytes(), prepared.inputs, prepared.outputs)

    return make


def _target_entries(
    prepared: Prepared, folder: Path, manifest: Manifest, fmt: str, target: Any
) -> list[Entry]:
    from zookit.fsutil import read_json
    from zookit.runtimes.host import HOST_RUNNERS

    path = folder / manifest.output.file
    out = []
    host = HOST_RUNNERS.get(fmt)
    if host is not None:
        runtime = "LiteRT (default kernels)" if fmt == "tflite" else "onnxruntime (CPU)"

        def make() -> Runner:
            return host(path.read_bytes(), prepared.inputs, prepared.outputs, target)

        batched = fmt == "onnx"
        out.append(
            Entry(target.name, runtime, manifest.output.size, manifest.output.checksum, make, batched=batched)
        )
    tflm = read_json(folder / "tflm.json")
    if isinstance(tflm, dict) and tflm.get("complete"):
        arena = int(tflm["arena"]["size"])
        out.append(
            Entry(
                f"tflm:{target.name}",
                f"TensorFlow Lite Micro (tflite-micro interpreter, arena {arena} bytes)",
                manifest.output.size,
                manifest.output.checksum,
                lambda: _tflm_runner(path.read_bytes(), arena, prepared),
            )
        )
    return out


def _tflm_runner(model: bytes, arena: int, prepared: Prepared) -> Runner:
    from zookit.runtimes.tflm import tflm_runner

    return tflm_runner(model, arena, prepared)


def _openvino_entries(prepared: Prepared, folder: Path) -> list[Entry]:
    from zookit.fsutil import read_json

    record = read_json(folder / "package.json")
    if not isinstance(record, dict) or not record.get("complete"):
        return []
    recipe = prepared.recipe
    assert recipe.openvino is not None
    nchw = recipe.target(recipe.openvino.target).inputs_as_nchw
    out = []
    for kind in ("float", "int8"):
        variant = record.get(kind)
        if not isinstance(variant, dict):
            continue
        xml = folder / variant["files"][0]
        files = record.get("files", {})
        checksum = files.get(xml.name)
        out.append(
            Entry(
                f"openvino:{kind}",
                "OpenVINO CPU plugin (f32 inference precision, as verified)",
                int(variant.get("ir_bytes") or 0) or None,
                checksum,
                _openvino(xml, prepared, nchw),
                batched=True,
            )
        )
    return out


def _openvino(xml: Path, prepared: Prepared, nchw: bool) -> Callable[[], Runner]:
    def make() -> Runner:
        from zookit.libs import load, threads
        from zookit.runtimes import openvino as runtime

        model = load("openvino").Core().read_model(str(xml))
        if len(model.inputs) == 1:  # any batch: the whole set in one call
            shape = model.inputs[0].get_partial_shape()
            shape[0] = -1
            model.reshape(shape)
        config = {"INFERENCE_NUM_THREADS": threads(), **runtime.FLOAT_CONFIG}
        return runtime.compile_runner(model, prepared.inputs, prepared.outputs, nchw, config)

    return make
