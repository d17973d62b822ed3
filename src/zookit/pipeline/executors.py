"""Where `zoo run` runs its models: any ``concurrent.futures.Executor`` (``submit`` returning a Future).

- ``local_processes(jobs)``: spawned processes on this machine (TensorFlow is not fork-safe), one model
  per process at a time; stage starts come back through a queue of a multiprocessing manager.
- ``dask_cluster(address)``: the workers of a running Dask scheduler (``Client.get_executor()``); stage
  starts come back as Dask events (``Worker.log_event`` -> ``Client.subscribe_topic``). The workers
  must see the zoo folder, the download cache and the recipes at the same paths (a shared file
  system), and have zookit installed with the convert extra.

Each returns an ``Execution``: the executor, the stage hook its workers call (it pickles), and a
``stop`` that ends the work at once (an interrupted run). A model's output is captured by the worker
and comes back inside its result (pipeline.run.run_captured), so logs reach the caller either way.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from zookit.errors import UsageError
from zookit.pipeline.run import ModelResult, StageHook, StageResult, run_captured
from zookit.pipeline.stages import RunOptions
from zookit.recipe import Recipe


@dataclass
class Execution:
    executor: Executor
    on_stage: StageHook  # what workers call as each stage starts (picklable)
    stop: Callable[[], None]  # end all work now: an interrupted run


class QueueHook:
    """Stage starts posted to a (manager) queue, which the caller's relay thread reads."""

    def __init__(self, queue: Any):
        self.queue = queue

    def __call__(self, model: str, stage: str) -> None:
        self.queue.put((model, stage))


class DaskEventHook:
    """Stage starts logged as Dask events on a topic the caller subscribes to."""

    def __init__(self, topic: str):
        self.topic = topic

    def __call__(self, model: str, stage: str) -> None:
        from distributed import get_worker

        get_worker().log_event(self.topic, [model, stage])


@contextmanager
def local_processes(jobs: int, on_stage: StageHook) -> Iterator[Execution]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        events = manager.Queue()

        def relay() -> None:
            while (event := events.get()) is not None:
                on_stage(*event)

        relay_thread = threading.Thread(target=relay, name="zoo-events", daemon=True)
        relay_thread.start()
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)

        def stop() -> None:
            workers = [p for p in multiprocessing.active_children() if p.name.startswith("SpawnProcess")]
            for process in workers:
                process.terminate()
            for process in workers:
                process.join(timeout=5)
            pool.shutdown(wait=False, cancel_futures=True)

        try:
            yield Execution(pool, QueueHook(events), stop)
            pool.shutdown()
        finally:
            events.put(None)
            relay_thread.join(timeout=2)


@contextmanager
def dask_cluster(address: str, on_stage: StageHook) -> Iterator[Execution]:
    import distributed

    try:
        client: Any = cast(Any, distributed.Client)(address, timeout="15s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"--scheduler: cannot reach the Dask scheduler at {address} ({exc}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
        ) from None
    topic = f"zookit-stages-{uuid.uuid4().hex}"
    client.subscribe_topic(topic, lambda event: on_stage(*event[1]))
    executor = client.get_executor(pure=False)  # a rerun is new work, never a cached result

    def stop() -> None:
        executor.shutdown(wait=False)

    try:
        yield Execution(executor, DaskEventHook(topic), stop)
    finally:
        client.unsubscribe_topic(topic)
        client.close()


def run_all(
    recipes: list[Recipe],
    options: RunOptions,
    execution: Execution,
    finished: Callable[[ModelResult], None],
) -> None:
    """Every model on the executor; each result is handed to ``finished`` as it comes. A model whose
    worker was lost (killed, out of memory) comes back as that model's failure; the others go on."""
    futures: dict[Future[ModelResult], str] = {
        execution.executor.submit(run_captured, recipe, options, execution.on_stage): recipe.name
        for recipe in recipes
    }
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # the worker died, or the executor lost the task
                error = f"the worker running it was lost ({type(exc).__name__}: {exc}); run again to redo it"
                result = ModelResult(futures[future], [StageResult("worker", "failed", error=error)])
            finished(result)
    except BaseException:
        execution.stop()
        raise
