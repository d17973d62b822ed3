"""Progress of long work: a bar per task on a terminal, plain log lines otherwise."""

from __future__ import annotations

import os
import shutil
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


class RunDisplay:
    """What `zoo run` is doing.

    On a terminal: a live block at the bottom of the screen, one line per model at work with its stage
    and the time spent in it, redrawn a few times a second; finished models' output is printed above
    it. Otherwise (a pipe, a CI log): one line per stage started, printed as it starts.
    """

    REDRAW_S = 0.25

    def __init__(self, total: int, stream: TextIO | None = None, live: bool | None = None):
        """Without ``stream``: a duplicate of file descriptor 2 (closed on exit), so that the display
        still reaches the terminal while a model's output is captured. ``live`` defaults to whether
        that is a terminal that understands cursor movement."""
        self._owned = stream is None
        if stream is None:
            fd = os.dup(sys.stderr.fileno())
            stream = open(fd, "w", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.stream = stream
        if live is None:
            live = stream.isatty() and os.environ.get("TERM", "") != "dumb"
        self.total = total
        self.live = live
        self.finished = 0
        self._done: set[str] = set()
        self._numbers: dict[str, int] = {}
        self._active: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._drawn = 0
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunDisplay:
        if self.live:
            self._thread = threading.Thread(target=self._tick, name="zoo-display", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._clear()
            self.stream.flush()
            if self._owned:
                self.stream.close()

    def stage(self, model: str, stage: str) -> None:
        """``model`` has started ``stage`` (news of a model already done, or after the end, is dropped:
        a worker's last report can arrive after its result)."""
        with self._lock:
            if model in self._done or self._stop.is_set():
                return
            self._active[model] = (stage, time.monotonic())
            number = self._numbers.setdefault(model, len(self._numbers) + 1)  # models by start, each once
            if self.live:
                self._redraw()
            else:
                print(f"[{number}/{self.total}] {model}: {stage}", file=self.stream, flush=True)

    def done(self, model: str, text: str) -> None:
        """``model`` has finished; ``text`` (its output and status line) goes above the live block."""
        with self._lock:
            self._active.pop(model, None)
            self._done.add(model)
            self.finished += 1
        self.message(text)

    def message(self, text: str) -> None:
        """A line (or block) printed above the live block."""
        with self._lock:
            self._clear()
            print(text, file=self.stream, flush=True)
            self._draw()

    def _tick(self) -> None:
        while not self._stop.wait(self.REDRAW_S):
            with self._lock:
                self._redraw()

    def _redraw(self) -> None:
        self._clear()
        self._draw()

    def _clear(self) -> None:
        if self.live and self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")  # up to the block's first line, erase below
            self._drawn = 0

    def _draw(self) -> None:
        if not self.live or self._stop.is_set():
            return
        width = max(20, shutil.get_terminal_size().columns - 1)  # a wrapped line would break the count
        now = time.monotonic()
        lines = [f"zoo run: {self.finished}/{self.total} models done, {now - self._started:.0f} s"]
        name_width = max((len(m) for m in self._active), default=0)
        lines += [
            f"  {model.ljust(name_width)}  {stage}  {now - since:.0f} s"
            for model, (stage, since) in sorted(self._active.items())
        ]
        self.stream.write("".join(line[:width] + "\n" for line in lines))
        self.stream.flush()
        self._drawn = len(lines)
