"""Runtimes: a model run under each engine zookit measures with, as one runner per engine.

A runner takes and returns float-domain arrays keyed by the recipe's tensor names: ``tensorflow`` (a
source graph), ``litert`` (TFLite: LiteRT's default or reference kernels, and the per-tensor
(de)quantization every runner of a quantized model uses), ``onnx`` (onnxruntime), ``openvino`` (OpenVINO's
CPU plugin and NNCF), ``tflm`` (TensorFlow Lite Micro's interpreter, its arena and ops), ``tflm_ops``
(TFLM's op resolver) and ``tflm_footprint`` (the arena, flash and ops a model needs under TFLM);
``host`` names the runner of each converted format on this machine.

What belongs here: loading a model into a runtime, feeding it, reading it, and the runtime's own facts.
Not here: what a run is compared with or judged by (``verify``), the packages a deployer writes
(``deploy``). Nothing here imports a stage; each runtime's library is imported only inside the function
that needs it (``libs.load``).
"""
