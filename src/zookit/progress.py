"""Progress of long work: a bar per task on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import TextIO


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class Task:
    """One unit of work with a known (or unknown) number of bytes."""

    def __init__(self, reporter: Progress, label: str, total: int | None):
        self.reporter = reporter
        self.label = label
        self.total = total
        self.done = 0
        self._bar = None
        self._next_line = 0.25
        self._started = time.monotonic()
        if reporter.use_bar:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=label,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=reporter.stream,
                leave=False,
                dynamic_ncols=True,
            )

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        if self.total and self.done / self.total >= self._next_line and self.done < self.total:
            self.reporter.line(
                f"{self.label}: {self.done * 100 // self.total}% ({_mb(self.done)} of {_mb(self.total)})"
            )
            while self._next_line <= self.done / self.total:
                self._next_line += 0.25

    def __enter__(self) -> Task:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.close()


class Progress:
    """Reports to ``stream`` (stderr): bars when it is a terminal, one line per step otherwise."""

    def __init__(self, stream: TextIO | None = None, bars: bool | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.use_bar = (not quiet) and (bars if bars is not None else self.stream.isatty())
        self._lock = threading.Lock()

    def task(self, label: str, total: int | None) -> Task:
        return Task(self, label, total)

    def line(self, text: str) -> None:
        if self.quiet:
            return
        with self._lock:
            if self.use_bar:
                from tqdm import tqdm

                tqdm.write(text, file=self.stream)
            else:
                print(text, file=self.stream, flush=True)
