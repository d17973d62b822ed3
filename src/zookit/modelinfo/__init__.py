"""`zoo inspect`: what a model file takes and gives, before any recipe exists.

For a TF frozen graph, a SavedModel, a Keras model, a TFLite or an ONNX file: its format (as a recipe's
``model.format`` names it), inputs and outputs with shapes and dtypes (-1: a dimension the file leaves
open), operator counts and, for the formats a recipe can trim (TF graphs, ONNX, TFLite), the likely trim points.

The likely trim points (``zookit.trimpoints``) are suggestions: ``zoo show`` of the shipped recipes shows
where they cut.

What belongs here: describing a model file, one module per format (``tflite``, ``onnx``, ``tf_graphs``:
frozen graph, Keras, SavedModel), what they describe it with (``facts``) and the entry point that tells
the format and picks the reader (``reader``). Model files are read through ``zookit.graphs`` (ONNX,
TFLite) and the converter's TensorFlow loaders; frameworks are imported inside the readers.
"""

from __future__ import annotations

from zookit.modelinfo.facts import ModelInfo, TensorInfo, display_tensor, operator_counts
from zookit.modelinfo.reader import FORMATS, detect_format, inspect_model
from zookit.modelinfo.tf_graphs import graph_info

__all__ = [
    "FORMATS",
    "ModelInfo",
    "TensorInfo",
    "detect_format",
    "display_tensor",
    "graph_info",
    "inspect_model",
    "operator_counts",
]
