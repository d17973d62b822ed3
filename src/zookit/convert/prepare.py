"""Prepare a source model: load it as its source format says, trim it, and make its reference runner.

The source table SOURCES maps a recipe's ``model.format`` to its kind (what the converters take: a TF
graph, an ONNX model or a TFLite file) and the function that prepares it. Adding a source format is
one entry here (and, for a TF format, a loader in ``sources.GRAPH_LOADERS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zookit.convert import onnx_heads
from zookit.convert.trim import source_ports, static_onnx, trim_graph_def, trim_onnx
from zookit.errors import ConversionError, UsageError, VerificationError
from zookit.layout import Layout
from zookit.ports import Port, declared_ports
from zookit.recipe import Recipe
from zookit.reference import Prepared
from zookit.runtimes.litert import tflite_runner
from zookit.runtimes.onnx import onnx_runner
from zookit.runtimes.tensorflow import tf_runner


def model_path(recipe: Recipe, zoo_dir: Path) -> Path:
    path = Layout(zoo_dir).source(recipe.name) / recipe.model.path
    present = path.is_dir() if recipe.model.format == "tf-saved-model" and not path.suffix else path.is_file()
    if not present:
        raise UsageError(f"{recipe.name}: {path} is missing; run `zoo fetch {recipe.name}` first")
    return path


def prepare(recipe: Recipe, zoo_dir: Path) -> Prepared:
    path = model_path(recipe, zoo_dir)
    prepared = SOURCES[recipe.model.format].prepare(recipe, path, f"{recipe.name} ({path.name})")
    prepared.folder = Layout(zoo_dir).source(recipe.name)
    prepared.kind = SOURCES[recipe.model.format].kind
    return prepared


def _prepare_tf(recipe: Recipe, path: Path, where: str) -> Prepared:
    """A TF source (frozen graph, SavedModel, Keras) as a frozen graph, trimmed."""
    from zookit.convert.sources import GRAPH_LOADERS

    inputs, outputs = source_ports(recipe)
    full = GRAPH_LOADERS[recipe.model.format](path, recipe, where)
    trimmed = trim_graph_def(full, recipe, where)
    return Prepared(
        recipe,
        inputs,
        outputs,
        graph_def=trimmed,
        reference=tf_runner(trimmed, inputs, outputs),
        source_graph=full if recipe.detection and recipe.detection.anchors else None,
    )


def _prepare_onnx(recipe: Recipe, path: Path, where: str) -> Prepared:
    import onnx

    inputs, outputs = source_ports(recipe)
    try:
        original = onnx.load(str(path))
    except Exception as exc:
        raise ConversionError(f"{where}: not a readable ONNX model ({exc})") from None
    if recipe.detection and recipe.detection.priors:
        return _prepare_onnx_ssd(recipe, original, inputs, where)
    trimmed_onnx = trim_onnx(original, recipe, where)
    reference = onnx_runner(_expose(original, [p.name for p in outputs]), inputs, outputs)
    return Prepared(recipe, inputs, outputs, onnx_model=trimmed_onnx, reference=reference)


def _prepare_tflite(recipe: Recipe, path: Path, where: str) -> Prepared:
    """A TFLite source runs in LiteRT (the reference for every target made from it), cut first at the
    recipe's trim points when it has them (the cut file is kept beside the source)."""
    inputs, outputs = source_ports(recipe)
    whole = model = path.read_bytes()
    trimmed = bool(recipe.trim.outputs or recipe.trim.inputs)
    if trimmed:
        path, model = _trimmed_tflite(recipe, path, model, where)
    try:
        reference = tflite_runner(model, inputs, outputs)
        # a detector cut before its post-process: the file as released gives the detections to match
        whole_reference = (
            tflite_runner(whole, *declared_ports(recipe)) if trimmed and recipe.detection else None
        )
    except VerificationError as exc:
        raise ConversionError(f"{where}: {exc}") from None
    return Prepared(
        recipe,
        inputs,
        outputs,
        tflite_model=model,
        tflite_path=path,
        reference=reference,
        whole_tflite=whole if trimmed else None,
        whole_reference=whole_reference,
    )


def _trimmed_tflite(recipe: Recipe, path: Path, model: bytes, where: str) -> tuple[Path, bytes]:
    from zookit.convert.tflite_trim import trim_tflite
    from zookit.fsutil import write_bytes

    outputs = list(recipe.trim.outputs) or [s.name for s in recipe.outputs]
    inputs = [t.tensor for t in recipe.trim.inputs] or None
    renames = {t.tensor: t.name for t in recipe.trim.inputs if t.name and t.name != t.tensor}
    trimmed = trim_tflite(model, outputs, inputs, where, renames)
    target = path.with_name(f"{path.stem}.trimmed.tflite")
    if not target.is_file() or target.read_bytes() != trimmed:
        write_bytes(target, trimmed)
    return target, trimmed


def _prepare_onnx_ssd(recipe: Recipe, original: Any, inputs: list[Port], where: str) -> Prepared:
    """Find the heads by structure, check the priors against them, and cut after the heads."""
    static = static_onnx(original, recipe, where)
    heads = onnx_heads.discover_heads(static, recipe, where)
    counts = onnx_heads.check_priors(recipe, heads, where)
    static = onnx_heads.rename_heads(static, heads)
    outputs = [
        Port(h.name, (1, h.channels, h.height, h.width), "float32") for h in heads.boxes + heads.classes
    ]
    trimmed = trim_onnx(static, recipe, where, outputs)
    reference = onnx_runner(_expose(static, [p.name for p in outputs]), inputs, outputs)
    _, declared = declared_ports(recipe)
    return Prepared(
        recipe,
        inputs,
        outputs,
        onnx_model=trimmed,
        reference=reference,
        heads=heads,
        prior_counts=counts,
        whole_onnx=static,
        whole_reference=onnx_runner(original.SerializeToString(), inputs, declared),
    )


def _expose(model: Any, names: list[str]) -> bytes:
    """The original ONNX model with interior tensors added as outputs, to run as the reference."""
    import onnx

    copy = onnx.ModelProto.FromString(model.SerializeToString())
    present = {o.name for o in copy.graph.output}
    for name in names:
        if name not in present:
            copy.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    data: bytes = copy.SerializeToString()
    return data


@dataclass(frozen=True)
class SourceFormat:
    kind: str  # the key of the format table's converters: "tf-graph", "onnx", "tflite"
    prepare: Callable[[Recipe, Path, str], Prepared]


SOURCES: dict[str, SourceFormat] = {
    "tf-frozen-graph": SourceFormat("tf-graph", _prepare_tf),
    "tf-saved-model": SourceFormat("tf-graph", _prepare_tf),
    "keras": SourceFormat("tf-graph", _prepare_tf),
    "onnx": SourceFormat("onnx", _prepare_onnx),
    "tflite": SourceFormat("tflite", _prepare_tflite),
}
