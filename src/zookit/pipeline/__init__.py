"""One pipeline of stages (fetch, prepare, convert, verify, deploy) run over many models by an executor."""
