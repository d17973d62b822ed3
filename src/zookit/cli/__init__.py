"""The ``zoo`` command's groups, one module each: parsing and output of a command sit together.
``zookit.__main__`` builds the parser and maps errors to exit codes."""
