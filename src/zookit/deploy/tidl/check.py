"""`zoo check`: where each operator of a TFLite or ONNX model runs under TIDL.

Every node is placed: on the accelerator (TI's table lists it and no constraint the file shows is
broken), on ARM (TI does not list it, or it breaks a listed constraint: the reason names the row of TI's
table), or replaced (after the detection heads, where TIDL's detection post-process takes over: a meta
architecture for ONNX SSDs, the TFLite delegate's own handling of ``TFLite_Detection_PostProcess`` when
it is fed as TI requires). The rules are data, in ``rules.py``; the model views in ``zookit.graphs``.

A clean result means no published limit is hit, not that TI's importer will accept every layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from zookit.deploy.tidl.rules import DATA_OPS, verdict
from zookit.errors import UsageError, ZooError
from zookit.graphs import Graph, TfliteModel, TfliteOp, onnx_graph

__all__ = ["POSTPROCESS_OP", "Finding", "check_model", "inventory", "problems"]

POSTPROCESS_OP = "TFLite_Detection_PostProcess"
ACCELERATOR, ARM, REPLACED = "accelerator", "arm", "replaced"
REPLACED_NOTE = "after the detection heads: replaced by TIDL's detection post-process (meta architecture)"


@dataclass(frozen=True)
class Finding:
    op: str
    node: str
    reason: str  # empty for a node that simply runs on the accelerator
    where: str = ARM  # accelerator, arm or replaced
    row: str = ""  # the row of TI's table the verdict comes from, when TI lists the operator

    @property
    def accelerated(self) -> bool:
        """No problem: it runs on the accelerator, or TIDL replaces it."""
        return self.where != ARM

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accelerated": self.accelerated}


def inventory(path: Path, heads: Iterable[str] = ()) -> list[Finding]:
    """Every node of a model file, placed. ``heads`` names the tensors where a meta architecture takes
    over (box and class head outputs): what comes after them is replaced, not a problem."""
    if not path.is_file():
        raise UsageError(f"{path}: no such model file")
    if path.stat().st_size == 0:
        raise ZooError(f"{path}: the file is empty, not a model")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        graph = onnx_graph(path)
        return _place(graph, _downstream_of(graph, set(heads)) if heads else set(), {})
    if suffix == ".tflite":
        model = TfliteModel(path)
        return _place(model.as_graph(), set(), _postprocess_findings(model))
    raise UsageError(f"{path}: zoo check reads .tflite and .onnx files")


def check_model(path: Path, heads: Iterable[str] = ()) -> list[Finding]:
    """The nodes that do not simply run on the accelerator (problems and what TIDL replaces)."""
    return [f for f in inventory(path, heads) if f.where != ACCELERATOR]


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.accelerated]


def summary(findings: list[Finding]) -> list[dict[str, Any]]:
    """One row per operator: how many nodes, where they run, the names of those off the accelerator."""
    rows: dict[str, dict[str, Any]] = {}
    for f in findings:
        row = rows.setdefault(f.op, {"op": f.op, "count": 0, ACCELERATOR: 0, ARM: 0, REPLACED: 0, "off": []})
        row["count"] += 1
        row[f.where] += 1
        if f.where == ARM:
            row["off"].append(f.node)
    return sorted(rows.values(), key=lambda r: (-r[ARM], -r["count"], r["op"]))


def _place(graph: Graph, replaced: set[str], special: dict[str, Finding]) -> list[Finding]:
    out = []
    for node in graph.nodes:
        if node.op in DATA_OPS:
            continue
        if node.name in special:
            out.append(special[node.name])
            continue
        if node.name in replaced:
            out.append(Finding(node.op, node.name, REPLACED_NOTE, REPLACED))
            continue
        if node.custom:
            kind = (
                "custom op"
                if graph.framework == "tflite"
                else f"operator of domain {node.op.rsplit('.', 1)[0]!r}:"
            )
            out.append(Finding(node.op, node.name, f"{kind} {node.op} is not a TIDL layer: runs on ARM"))
            continue
        row, reason = verdict(node, graph)
        where = row.where if row else ""
        if reason:
            out.append(Finding(node.op, node.name, reason, ARM, where))
        else:
            out.append(Finding(node.op, node.name, "", ACCELERATOR, where))
    return out


# --- ONNX: what a meta architecture replaces ------------------------------------------------------


def _downstream_of(graph: Graph, heads: set[str]) -> set[str]:
    """Names of the nodes that do not feed the heads: what a meta architecture replaces."""
    backbone: set[int] = set()
    stack = [graph.producers[h] for h in heads if h in graph.producers]
    while stack:
        node = stack.pop()
        if node.index in backbone:
            continue
        backbone.add(node.index)
        stack += [graph.producers[i.name] for i in node.inputs if i is not None and i.name in graph.producers]
    return {n.name for n in graph.nodes if n.index not in backbone}


# --- TFLite: the SSD post-process op --------------------------------------------------------------


def _postprocess_findings(m: TfliteModel) -> dict[str, Finding]:
    """The post-process ops: replaced when fed as TI requires, on ARM otherwise."""
    out = {}
    for op in m.ops:
        if op.name != POSTPROCESS_OP:
            continue
        name = m.name(op.outputs[0]) if op.outputs else op.name
        if postprocess_heads(m, op) is not None:
            reason = "taken over by TIDL's TFLite delegate as the SSD detection post-process"
            out[name] = Finding(op.name, name, reason, REPLACED)
        else:
            reason = (
                "runs on ARM: TIDL takes it over only when fed by head convolutions through "
                "Reshape -> Concat (class scores then Logistic/Softmax) with constant anchors"
            )
            out[name] = Finding(op.name, name, reason, ARM)
    return out


def postprocess_heads(m: TfliteModel, op: TfliteOp) -> tuple[list[str], list[str]] | None:
    """The box and class head convolutions' output tensor names feeding a TFLite_Detection_PostProcess
    op, when it is fed the way TIDL requires; None otherwise."""
    if len(op.inputs) < 3 or not m.constant(op.inputs[2]):
        return None
    boxes = _heads_behind(m, op.inputs[0], converters=())
    classes = _heads_behind(m, op.inputs[1], converters=("LOGISTIC", "SOFTMAX"))
    if boxes is None or classes is None or len(boxes) != len(classes):
        return None
    return boxes, classes


def _heads_behind(m: TfliteModel, tensor: int, converters: tuple[str, ...]) -> list[str] | None:
    producer = _through(m, tensor, ("RESHAPE", "SQUEEZE"))
    if converters:
        if producer is None or producer.name not in converters:
            return None
        producer = _through(m, producer.inputs[0], ("RESHAPE", "SQUEEZE"))
    if producer is None or producer.name != "CONCATENATION":
        return None
    heads = []
    for t in producer.inputs:
        reshape = m.producer(t)
        if reshape is None or reshape.name != "RESHAPE":
            return None
        conv = m.producer(reshape.inputs[0])
        if conv is None or conv.name not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            return None
        heads.append(m.name(conv.outputs[0]))
    return heads


def _through(m: TfliteModel, tensor: int, ops: tuple[str, ...]) -> TfliteOp | None:
    producer = m.producer(tensor)
    walked: set[int] = set()  # a cyclic graph must not loop
    while producer is not None and producer.name in ops and producer.inputs and id(producer) not in walked:
        walked.add(id(producer))
        producer = m.producer(producer.inputs[0])
    return producer
