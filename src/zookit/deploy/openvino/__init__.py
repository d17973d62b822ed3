"""The OpenVINO deployer (``openvino``, extra ``[openvino]``): ``package`` writes the OpenVINO IR of a
target, float and NNCF int8, verified against the source and timed on this CPU.

OpenVINO itself (reading, quantizing, compiling, running, timing) is ``runtimes.openvino``, which verify
and evaluate use too. Like every deployer, this one imports no other deployer and not the deployer table
(``zookit.deploy``): only ``deploy.common``."""
