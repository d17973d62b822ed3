"""The likely trim points of a graph, found on a uniform node view (``GraphNode``).

Likely trim points, the heuristic (``trim_points``), in this order:

1. Before post-processing: from each post-processing operator (non-maximum suppression, TopK,
   ``TFLite_Detection_PostProcess``) the graph is walked back along its data inputs (not through ops that
   only read a shape) to the first tensor made by a join or a head: a concatenation (the heads of every
   feature map joined: every input of the concatenation is, through reshapes, a learned layer's
   output), a sigmoid or softmax (class scores), or a learned layer (convolution, matrix product, bias
   add). A tensor whose one consumer only reshapes it (Reshape, Squeeze, Identity, ...)
   gives way to that consumer's output. On SSD-MobileNet this finds ``Squeeze`` (box encodings) and
   ``Postprocessor/convert_scores`` (class scores): the recipe's trim outputs.
2. Classifier logits: the input of a Softmax / LogSoftmax / ArgMax from which no learned layer follows
   (the model's head, not an attention softmax). On ResNet50 this is ``resnet_model/dense/BiasAdd``.
3. The graph's outputs.

A trim point is a suggestion: ``zoo show`` of the shipped recipes shows where they cut.

Every walk is bounded by a visited set: a cyclic graph (hostile or broken) is described, never looped on;
``cycle_tensor`` names a tensor on a cycle.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

# the heuristic's operator classes (TensorFlow, TFLite and ONNX spellings)
POSTPROCESS_OPS = frozenset(
    {
        "NonMaxSuppression",
        "NonMaxSuppressionV2",
        "NonMaxSuppressionV3",
        "NonMaxSuppressionV4",
        "NonMaxSuppressionV5",
        "NonMaxSuppressionWithOverlaps",
        "CombinedNonMaxSuppression",
        "TopK",
        "TopKV2",
        "TOPK_V2",
        "NON_MAX_SUPPRESSION_V4",
        "NON_MAX_SUPPRESSION_V5",
        "TFLite_Detection_PostProcess",
    }
)
HEAD_OPS = frozenset({"Softmax", "LogSoftmax", "ArgMax", "SOFTMAX", "LOG_SOFTMAX", "ARG_MAX"})
LEARNED_OPS = frozenset(
    {
        "Conv2D",
        "DepthwiseConv2dNative",
        "MatMul",
        "BatchMatMulV2",
        "BiasAdd",
        "Conv",
        "ConvTranspose",
        "Gemm",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "FULLY_CONNECTED",
        "BATCH_MATMUL",
    }
)
CONCAT_OPS = frozenset({"ConcatV2", "Concat", "CONCATENATION"})
ACTIVATION_OPS = frozenset({"Sigmoid", "LOGISTIC", "Softmax", "SOFTMAX"})
RESHAPE_OPS = frozenset(
    {"Reshape", "Squeeze", "ExpandDims", "Identity", "Flatten", "Unsqueeze", "RESHAPE", "SQUEEZE"}
)
SHAPE_READERS = frozenset({"Shape", "ShapeN", "Size", "Rank", "SHAPE"})
MAX_WALK = 20_000  # nodes visited per post-processing op: a bound for huge graphs with loops


@dataclass(frozen=True)
class TrimPoint:
    tensor: str
    shape: list[int] | None
    reason: str


@dataclass
class GraphNode:
    """The uniform node view the trim-point heuristic walks: data inputs and outputs as tensor names."""

    name: str
    op: str
    inputs: list[str]
    outputs: list[str]


# --- the trim-point heuristic ----------------------------------------------------------------------


def trim_points(
    nodes: list[GraphNode], outputs: list[str], shape_of: Any = lambda t: None
) -> list[TrimPoint]:
    """The likely trim points of a graph (the module's docstring states the rules); tensor names as the
    graph spells them, each once, in the order of the rules."""
    producers = {t: n for n in nodes for t in n.outputs}
    consumers: dict[str, list[GraphNode]] = {}
    for n in nodes:
        for t in n.inputs:
            consumers.setdefault(t, []).append(n)
    found: dict[str, str] = {}

    def forward(tensor: str) -> str:
        seen = {tensor}
        while len(consumers.get(tensor, [])) == 1:
            after = consumers[tensor][0]
            if after.op not in RESHAPE_OPS or not after.outputs or after.outputs[0] in seen:
                break
            tensor = after.outputs[0]
            seen.add(tensor)
        return tensor

    seen: set[str] = set()  # shared: the post-processing ops of one detector reach the same heads
    for node in nodes:
        if node.op not in POSTPROCESS_OPS:
            continue
        queue = deque(t for t in node.inputs if t not in seen)
        seen.update(queue)
        while queue and len(seen) < MAX_WALK:
            tensor = queue.popleft()
            producer = producers.get(tensor)
            if producer is None:
                continue
            if _head_tensor(producer, producers):
                found.setdefault(forward(tensor), f"before the post-processing ({node.op} at {node.name})")
                continue
            if producer.op in SHAPE_READERS:
                continue
            for t in producer.inputs:
                if t not in seen:
                    seen.add(t)
                    queue.append(t)

    for node in nodes:
        if node.op in HEAD_OPS and node.inputs and not _learned_after(node, consumers):
            found.setdefault(node.inputs[0], f"the logits, before {node.op} ({node.name})")
    for tensor in outputs:
        found.setdefault(tensor, "a graph output")
    return [TrimPoint(t, shape_of(t), reason) for t, reason in found.items()]


def _head_tensor(node: GraphNode, producers: dict[str, GraphNode]) -> bool:
    """``node`` makes what the model's heads give: a learned layer, a sigmoid or softmax, or a
    concatenation whose every input is (through reshapes) a learned layer's output."""
    if node.op in LEARNED_OPS or node.op in ACTIVATION_OPS:
        return True
    if node.op not in CONCAT_OPS:
        return False
    for tensor in node.inputs:
        source = producers.get(tensor)
        walked: set[int] = set()  # a cyclic graph (a reshape reading its own output) must not loop
        while source is not None and source.op in RESHAPE_OPS and source.inputs and id(source) not in walked:
            walked.add(id(source))
            source = producers.get(source.inputs[0])
        if source is not None and source.op not in LEARNED_OPS and source.op != "Const":
            return False
    return True


def _learned_after(node: GraphNode, consumers: dict[str, list[GraphNode]]) -> bool:
    """A learned layer (convolution, matrix product) reads what ``node`` computes, at any distance."""
    queue, seen = deque(node.outputs), set(node.outputs)
    while queue and len(seen) < MAX_WALK:
        for after in consumers.get(queue.popleft(), []):
            if after.op in LEARNED_OPS:
                return True
            for t in after.outputs:
                if t not in seen:
                    seen.add(t)
                    queue.append(t)
    return False


def cycle_tensor(nodes: list[GraphNode]) -> str | None:
    """A tensor on a cycle of the graph (a node reading, at any distance, what it computes), or None."""
    producers = {t: n for n in nodes for t in n.outputs}
    state: dict[int, int] = {}  # 1: being walked, 2: done
    for start in nodes:
        if id(start) in state:
            continue
        stack = [(start, iter(start.inputs))]
        state[id(start)] = 1
        while stack:
            node, inputs = stack[-1]
            tensor = next(inputs, None)
            if tensor is None:
                state[id(node)] = 2
                stack.pop()
                continue
            before = producers.get(tensor)
            if before is None or state.get(id(before)) == 2:
                continue
            if state.get(id(before)) == 1:
                return tensor
            state[id(before)] = 1
            stack.append((before, iter(before.inputs)))
    return None
