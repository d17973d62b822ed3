"""zookit: turn public model zoos into models ready for embedded accelerators.

The flow is recipe -> fetch -> trim -> convert -> verify -> deploy (TIDL). Each stage has its own
module; heavy frameworks (TensorFlow, tf2onnx, onnxruntime) are imported only inside the functions
that need them, so listing, showing and fetching start fast.
"""

from zookit.errors import ZooError

__version__ = "0.1.0"
__all__ = ["ZooError", "__version__"]
