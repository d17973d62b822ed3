"""zookit: turn public model zoos into models ready for embedded accelerators.

The flow is recipe -> fetch -> trim -> convert -> verify -> deploy (TIDL). Each stage has its own
module; heavy frameworks (TensorFlow, tf2onnx, onnxruntime) are imported only inside the functions
that need them, so listing, showing and fetching start fast.

The Python API (docs/api.md): ``Zoo.open(...)`` and its ``recipes``, ``fetch``, ``convert``, ``tidl``
and ``run``; ``inspect``, ``check`` and ``new_recipe`` for model files. They return the typed records
the ``--json`` output holds and raise the ``ZooError`` subclasses below.
"""

from zookit.api import RunReport, Zoo, check, inspect, new_recipe
from zookit.errors import (
    ArchiveError,
    ChecksumError,
    ConversionError,
    FetchError,
    RecipeError,
    UsageError,
    VerificationError,
    ZooError,
)
from zookit.modelinfo import ModelInfo, TensorInfo
from zookit.records import Manifest, Package
from zookit.trimpoints import TrimPoint
from zookit.version import __version__

__all__ = [
    "ArchiveError",
    "ChecksumError",
    "ConversionError",
    "FetchError",
    "Manifest",
    "ModelInfo",
    "Package",
    "RecipeError",
    "RunReport",
    "TensorInfo",
    "TrimPoint",
    "UsageError",
    "VerificationError",
    "Zoo",
    "ZooError",
    "__version__",
    "check",
    "inspect",
    "new_recipe",
]
