"""The prepared source model: what conversion reads (the trimmed graph or model) and what verification
compares with (its reference runner and, computed once per model, its outputs on the verification
samples). Made by ``convert.prepare``; read by ``convert``, ``verify``, ``quantize`` and the deployers,
none of which import each other for it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zookit.ports import Port
from zookit.recipe import Recipe

Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
# the source model's run on the verification samples: (sample, outputs) pairs
Expected = list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]


@dataclass
class Prepared:
    """The trimmed source model, ready to convert and to run as the reference."""

    recipe: Recipe
    inputs: list[Port]
    outputs: list[Port]
    graph_def: Any = None  # TF sources
    onnx_model: Any = None  # ONNX sources
    reference: Runner | None = None
    source_graph: Any = None  # the whole TF graph of an SSD, for its anchors and its own detections
    heads: Any = None  # the heads found in an ONNX SSD (convert.onnx_heads.Heads)
    prior_counts: list[int] | None = None
    whole_onnx: Any = None  # an ONNX SSD with its own post-process kept (static shapes, heads named)
    whole_reference: Runner | None = None  # the source ONNX SSD as shipped, to check whole_onnx against
    tflite_model: bytes | None = None  # TFLite sources (cut at the recipe's trim points, when it has them)
    whole_tflite: bytes | None = None  # a trimmed TFLite source as released (its own post-process kept)
    tflite_path: Path | None = None
    folder: Path | None = None  # the model's source folder (for files a target is compared with)
    kind: str = ""  # what the converters take: "tf-graph", "onnx" or "tflite" (convert.prepare.SOURCES)
    labelled: Any = None  # the labelled set int8 calibrates on (datasets.labelled.LabelledSet), when found
    _expected: dict[Any, Future[Expected]] = field(default_factory=dict, repr=False)

    def expected(self, key: Any, compute: Callable[[], Expected]) -> Future[Expected]:
        """The source model's outputs on one set of verification samples, computed once per model (every
        target is checked against the same figures) and in a background thread. TensorFlow and
        onnxruntime release the GIL while they run, so this overlaps the parts of a conversion that do
        too (TFLite's converter call itself holds the GIL)."""
        if key not in self._expected:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoo-reference")
            self._expected[key] = pool.submit(compute)
            pool.shutdown(wait=False)  # the thread ends when the work is done
        return self._expected[key]
