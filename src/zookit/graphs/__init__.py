"""One read-only view of ONNX and TFLite models, for everyone who reads a model file: `zoo inspect`
(``zookit.modelinfo``), `zoo check` and the TIDL deployer (``zookit.deploy.tidl``), the upstream model
check of ``verify``, and the next deployer.

What belongs here: reading a model file into plain facts (nodes, tensors with shapes and small constants,
attributes, the graph's inputs and outputs), refusing a file that is not a model of its format with one
``ZooError`` naming it. Nothing here converts, runs or judges a model; those are the stages above.

- ``view``: ``Graph``, ``Node``, ``Tensor``, the same for both formats (axes named as TIDL's table does).
- ``onnx``: ``load_onnx``, ``initializer_value``, ``onnx_graph``.
- ``tflite``: ``TfliteModel`` (a flatbuffer's first subgraph, checked against hostile files) and its
  ``as_graph``.

onnx and LiteRT are imported inside the functions that read a file. This package may import only the
bottom modules (``errors``, ``fsutil``, ``libs``), ``ports``, ``data`` and ``recipe``.
"""

from __future__ import annotations

from zookit.graphs.onnx import ONNX_DEFAULT_DOMAINS, initializer_value, load_onnx, onnx_graph
from zookit.graphs.tflite import MAX_RANK, SMALL_CONSTANT, HostileTflite, TfliteModel, TfliteOp, read_tensors
from zookit.graphs.view import Graph, Node, Tensor

__all__ = [
    "MAX_RANK",
    "ONNX_DEFAULT_DOMAINS",
    "SMALL_CONSTANT",
    "Graph",
    "HostileTflite",
    "Node",
    "Tensor",
    "TfliteModel",
    "TfliteOp",
    "initializer_value",
    "load_onnx",
    "onnx_graph",
    "read_tensors",
]
