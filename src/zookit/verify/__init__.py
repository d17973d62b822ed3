"""Converted models against their source: the source's outputs on the verification samples, comparisons
and tolerances, the noise floor, detection matching, class figures, the upstream's own model.

What belongs here: judging a model's outputs against the source's. The runners that produce them are
``runtimes``. Conversion calls verification (a file is kept only when it matches), and so do the
deployers and quantize; nothing here imports a stage."""
