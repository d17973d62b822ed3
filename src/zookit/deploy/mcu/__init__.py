"""The TensorFlow Lite Micro deployer (``tflm``, extra ``[mcu]``): ``package`` runs each C-array target
under TFLM, verifies and measures it (arena, flash, ops) and writes its firmware headers (``firmware``).

TFLM itself (its interpreter, the arena search, its op resolver, a model's footprint) is ``runtimes.tflm``,
``runtimes.tflm_ops`` and ``runtimes.tflm_footprint``, which quantize and evaluate use too. Like every deployer, this one imports no
other deployer and not the deployer table (``zookit.deploy``): only ``deploy.common``."""
