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
import os
import socket
import struct
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

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


CONNECT_SECONDS = 15.0
WORKERS_SECONDS = 60.0  # how long a scheduler without workers is waited for ($ZOO_SCHEDULER_WAIT)
START_HINT = "start one with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"


def scheduler_address(text: str) -> tuple[str, int]:
    """HOST and PORT of a ``tcp://HOST:PORT`` address (an IPv6 host in brackets); UsageError otherwise."""
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise UsageError(
            f"--scheduler: {text!r} is not a Dask scheduler address; give tcp://HOST:PORT "
            "(for example tcp://127.0.0.1:8786; TLS and UCX schedulers are not supported)"
        )
    return parts.hostname, port


def probe_scheduler(address: str, seconds: float = CONNECT_SECONDS) -> None:
    """Check that something answering as a Dask scheduler listens at ``address`` before Dask's client
    connects: a Dask server sends its handshake (an 8-byte little-endian length, then the message) as
    soon as a connection is accepted. A listener that says nothing (a plain HTTP server, a stuck
    process) or sends other bytes is named in one line instead of hanging the client or growing memory."""
    host, port = scheduler_address(address)
    try:
        with socket.create_connection((host, port), timeout=seconds) as conn:
            conn.settimeout(seconds)
            head = b""
            while len(head) < 8:
                chunk = conn.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        raise UsageError(
            f"--scheduler: {address} accepted the connection but sent nothing within {seconds:g} s: "
            f"not a Dask scheduler (is it another server?); {START_HINT}"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"--scheduler: cannot reach the Dask scheduler at {address} ({exc}); {START_HINT}"
        ) from None
    size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
    if not 0 < size <= 1 << 20:
        raise UsageError(
            f"--scheduler: {address} does not speak Dask's protocol (its first bytes are not a Dask handshake)"
        )


def _worker_wait() -> float:
    text = os.environ.get("ZOO_SCHEDULER_WAIT", "")
    try:
        value = float(text) if text else WORKERS_SECONDS
    except ValueError:
        raise UsageError(f"$ZOO_SCHEDULER_WAIT: expected a number of seconds, got {text!r}") from None
    if not 0 < value < 1e6:
        raise UsageError(f"$ZOO_SCHEDULER_WAIT: must be a positive number of seconds, got {text}")
    return value


@contextmanager
def dask_cluster(address: str, on_stage: StageHook) -> Iterator[Execution]:
    import distributed

    wait = _worker_wait()
    probe_scheduler(address)
    try:
        client: Any = cast(Any, distributed.Client)(address, timeout=f"{CONNECT_SECONDS:g}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(
            f"--scheduler: cannot reach the Dask scheduler at {address} ({exc}); {START_HINT}"
        ) from None
    if not client.scheduler_info().get("workers"):
        print(
            f"zoo: the scheduler at {address} has no workers yet; waiting up to {wait:g} s", file=sys.stderr
        )
        try:
            client.wait_for_workers(1, timeout=wait)
        except (TimeoutError, OSError) as exc:
            client.close()
            raise UsageError(
                f"--scheduler: no worker joined the scheduler at {address} within {wait:g} s ({exc}); "
                "start workers with `dask worker ADDRESS --nthreads 1`"
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
