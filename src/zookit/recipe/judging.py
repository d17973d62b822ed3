"""Judging recipe files: each file validated as `load_recipe` validates it, its verdict the row `zoo list`
shows or its error lines; many files at once judged by two worker processes.

A cold `zoo list` of a big zoo validates every file (YAML, then the recipe model: about a millisecond
each). When more than ``PARALLEL_FROM`` files need judging, they are judged in chunks by a pool of
``WORKERS`` processes forked from this one (the recipe model already built), each worker reading, hashing
and judging its files; the verdicts come back in the files' order and are exactly what judging them here
gives (tests/test_recipe_judging.py compares both). The pool is used only where forking is safe (Linux's
``fork`` and a single thread in this process) and when it can start; otherwise, or when a
worker dies, the files are judged here, one after the other.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from zookit.errors import RecipeError
from zookit.fsutil import display_path

PARALLEL_FROM = 500  # fewer files are judged here: starting two processes costs more than they save
WORKERS = 2
CHUNK = 64
log = logging.getLogger(__name__)


class Verdict(NamedTuple):
    """One recipe file: the row `zoo list` shows when it is valid, else its error (a tuple: 10,000 are made
    in a listing), and the files besides the recipe its validation read (an ethos_u section's Vela config
    file: {the name the recipe gives: the file's identity then})."""

    path: Path
    row: dict[str, Any] | None
    error: RecipeError | None
    consulted: dict[str, str] | None = None


def summary(recipe: Any) -> dict[str, Any]:
    """The fields of a valid recipe that `zoo list` shows (``--json`` too)."""
    return {
        "name": recipe.name,
        "task": recipe.task,
        "format": recipe.model.format,
        "targets": [t.name for t in recipe.targets],
        "description": recipe.description,
    }


def judge(path: Path, data: bytes | None = None, where: str | None = None) -> Verdict:
    """Read (unless ``data`` holds the file's bytes) and validate one recipe file, as `load_recipe` does;
    ``where``: ``display_path(path)``, when known."""
    from zookit.recipe.ethos_u import CONSULTED
    from zookit.recipe.files import read_document
    from zookit.recipe.loading import checked_recipe

    where = display_path(path) if where is None else where
    CONSULTED.clear()
    try:
        recipe = checked_recipe(path, read_document(path, where, data), where)
    except RecipeError as exc:
        return Verdict(path, None, exc, dict(CONSULTED))
    return Verdict(path, summary(recipe), None, dict(CONSULTED))


def identity(st: os.stat_result) -> str:
    """What the system says of a file: device, inode, size, modification and change times."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


class Judged(NamedTuple):
    """A file read and judged: its verdict, the SHA-256 of the bytes judged and what the system said of
    the file they were read from (None: read too soon after a change to be trusted, see cache.py)."""

    verdict: Verdict
    digest: str
    identity: str | None


class Task(NamedTuple):
    """A file to judge: where it is shown, and its bytes and trusted identity when already read."""

    path: Path
    where: str
    known: tuple[bytes, str | None] | None = None


def read(path: Path, racy_seconds: float) -> tuple[bytes, str | None]:
    """The file's bytes and what the system says of the file they were read from (None when it changed
    less than ``racy_seconds`` ago: a clock tick can hide a quick second edit)."""
    with open(path, "rb") as f:
        data, st = f.read(), os.fstat(f.fileno())
    trusted = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > racy_seconds * 1e9
    return data, identity(st) if trusted else None


def read_and_judge(task: Task, racy_seconds: float) -> Judged | Verdict:
    """Read (unless known), hash and judge one regular file; a Verdict alone (never remembered) when it
    cannot be read."""
    try:
        data, ident = read(task.path, racy_seconds) if task.known is None else task.known
    except OSError as exc:
        return Verdict(task.path, None, RecipeError(task.where, [f"cannot read the file: {exc}"]))
    return Judged(judge(task.path, data, task.where), hashlib.sha256(data).hexdigest(), ident)


# what crosses between processes: plain values (a RecipeError is rebuilt from its lines on this side)
_Plain = tuple[str | None, str | None, dict[str, Any] | None, str | None, list[str] | None, dict[str, str]]


def _to_plain(result: Judged | Verdict) -> _Plain:
    verdict, digest, ident = result if isinstance(result, Judged) else (result, None, None)
    error = verdict.error
    return (
        digest,
        ident,
        verdict.row,
        None if error is None else error.path,
        None if error is None else error.problems,
        verdict.consulted or {},
    )


def _from_plain(path: Path, plain: _Plain) -> Judged | Verdict:
    digest, ident, row, where, problems, consulted = plain
    error = None if where is None or problems is None else RecipeError(where, problems)
    verdict = Verdict(path, row, error, consulted)
    return verdict if digest is None else Judged(verdict, digest, ident)


def _work(chunk: list[Task], racy_seconds: float) -> list[_Plain]:
    """A worker's chunk of files."""
    return [_to_plain(read_and_judge(task, racy_seconds)) for task in chunk]


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The cyclic garbage collector run less often (after 20,000 new objects, not 700): judging a recipe
    makes thousands of short-lived objects and no cycle worth collecting early (a tenth of the time)."""
    before = gc.get_threshold()
    gc.set_threshold(20_000, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _worker_start() -> None:
    gc.set_threshold(20_000, *gc.get_threshold()[1:])


def _can_fork() -> bool:
    import multiprocessing

    return (
        sys.platform.startswith("linux")  # elsewhere fork is missing (Windows) or unsafe (macOS)
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and (os.cpu_count() or 1) >= 2
    )


def read_and_judge_all(tasks: Sequence[Task], racy_seconds: float) -> list[Judged | Verdict]:
    """``read_and_judge`` of each task, in order; by worker processes when there are many. The config
    files the recipes name are looked up once for the whole batch (in each worker)."""
    from zookit.recipe.ethos_u import config_files_looked_up_once

    with config_files_looked_up_once():
        if len(tasks) >= PARALLEL_FROM and _can_fork():
            try:
                return _in_workers(tasks, racy_seconds)
            except Exception as exc:  # the pool could not start or a worker died: judged here instead
                log.info("recipes judged in this process: the worker processes failed (%s)", exc)
        with fewer_collections():
            return [read_and_judge(task, racy_seconds) for task in tasks]


def _in_workers(tasks: Sequence[Task], racy_seconds: float) -> list[Judged | Verdict]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks = [list(tasks[i : i + CHUNK]) for i in range(0, len(tasks), CHUNK)]
    context = multiprocessing.get_context("fork")
    # this process's objects kept out of the collector's reach: the workers neither walk them (the model,
    # pydantic's schemas) nor copy the pages they are on by touching them
    gc.freeze()
    try:
        with ProcessPoolExecutor(WORKERS, context, _worker_start) as pool:
            plain = [p for done in pool.map(_work, chunks, [racy_seconds] * len(chunks)) for p in done]
    finally:
        gc.unfreeze()
    return [_from_plain(task.path, p) for task, p in zip(tasks, plain, strict=True)]
