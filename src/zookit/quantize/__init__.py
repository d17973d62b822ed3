"""Quantization you can diagnose and fix (`zoo diagnose`): the per-layer error of a quantized target
against its float twin (layers.py), the search for the fewest layers kept in higher precision that meet
an accuracy goal, every candidate converted and measured (search.py), agreement against calibration-set
size (search.calibration_sweep), and the results written beside the target, into its manifest
(``extras["diagnosis"]``) and, asked to, back into the recipe (recipe_edit.py).

It calls conversion (``convert.target``, ``convert.converters``) and verification (``verify.model``) one
after the other; neither of those imports this package. A stage beside ``deploy`` and ``evaluate``: none
of the three imports another."""
