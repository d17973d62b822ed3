"""Arm's Vela compiler for Ethos-U NPUs, run as a program (``python -m ethosu.vela``) with a timeout.

``compile_for(model, config, out_dir)`` compiles one int8 TFLite model for one configuration, with every
option Vela would otherwise default named (config file, system configuration, memory mode, optimise), and
reads back what Vela itself wrote: its summary CSV, its per-layer CSV (``--verbose-performance``) and the
operator counts and CPU fall-back reasons it prints (Vela 5.2's Regor core prints
"Warning (supported operators) operator: OP, ofm: 'NAME'" then "Reason: ..." for each operator it leaves on
the CPU). ``placement(model, config)`` compiles into a temporary folder and keeps only where each operator
runs. See zookit.vela.compile and zookit.vela.parse.
"""

from zookit.vela.compile import EthosUConfig, VelaResult, compile_for, placement, vela_version

__all__ = ["EthosUConfig", "VelaResult", "compile_for", "placement", "vela_version"]
