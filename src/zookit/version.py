"""zookit's version, in a module of its own: what lies low in the package (``libs.tool_versions``, the
report) reads it without importing the package's face, whose ``__init__`` imports the API and so
everything else."""

__version__ = "0.1.0"
