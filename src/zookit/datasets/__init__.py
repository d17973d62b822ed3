"""Data sets a recipe names: the labelled sets (``labelled``: where a set is, its labels, the deterministic
calibration/evaluation split, each format's reader) and the calibration part of a set as the inputs of an
int8 conversion or quantization (``calibration``).

What belongs here: reading samples and labels and splitting them. Not here: metrics and the evaluation
of a model (``evaluate``), the pictures and samples a recipe ships (``data``, ``samples``). Conversion,
quantization, the deployers and evaluation all read from here, so it sits below every one of them.
"""
