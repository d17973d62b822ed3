"""Run converted models against their source: runners per format, comparisons, detection matching."""
