"""One pipeline of stages (fetch, prepare, convert, verify, deploy, evaluate) run over many models by an
executor.

What belongs here: each stage's key, check and order (``stages``, ``deploy_stage``, ``evaluation``),
``zoo run`` (``run``), the executors, the run summary and the commands that run one kind of stage
(``commands``, ``target``). Not here: a stage's work (``convert``, ``deploy``, ``evaluate``), which
the pipeline calls and which never imports it."""
