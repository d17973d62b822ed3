"""`--scheduler` against addresses and listeners that are not a working Dask scheduler (issue #24 point 7):
each is one line and an exit code, within a bounded time; none hangs or grows memory."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import minimal_recipe, write_recipe
from zookit.__main__ import main
from zookit.errors import UsageError
from zookit.pipeline import executors


class Listener:
    """A TCP server on 127.0.0.1 that accepts and then stays silent, or sends ``reply`` and waits."""

    def __init__(self, reply: bytes = b""):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            if self.reply:
                conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def listener(request: pytest.FixtureRequest) -> Iterator[Listener]:
    server = Listener(getattr(request, "param", b""))
    yield server
    server.close()


@pytest.mark.parametrize(
    "address",
    [
        "tcp://::::",
        "http://127.0.0.1:8786",
        "/etc/passwd",
        "tls://127.0.0.1:1",
        "ucx://h:1",
        "",
        "tcp://127.0.0.1",
    ],
)
def test_an_address_that_is_no_tcp_scheduler_is_a_usage_error(
    address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["run", "--all", "--scheduler", address])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "tcp://HOST:PORT" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("listener", "words"),
    [
        (b"", "sent nothing"),
        (b"\xff" * 64, "does not speak Dask's protocol"),
        (b"HTTP/1.0 200 OK\r\n\r\n", "does not speak Dask's protocol"),
    ],
    indirect=["listener"],
)
def test_a_listener_that_is_no_dask_scheduler_is_named_in_bounded_time(
    listener: Listener, words: str
) -> None:
    started = time.monotonic()
    with pytest.raises(UsageError, match=words):
        executors.probe_scheduler(f"tcp://127.0.0.1:{listener.port}", seconds=1)
    assert time.monotonic() - started < 10


def test_zoo_run_on_a_silent_listener_stops_with_one_line(listener: Listener, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    write_recipe(tmp_path / "recipes", minimal_recipe("toy"))
    cmd = [sys.executable, "-m", "zookit", "--recipes", str(tmp_path / "recipes"), "run", "--all"]
    cmd += ["--zoo-dir", str(tmp_path / "zoo"), "--scheduler", f"tcp://127.0.0.1:{listener.port}"]
    env = dict(os.environ, ZOO_CACHE_DIR=str(tmp_path / "cache"))
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "sent nothing within 15 s" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < executors.CONNECT_SECONDS + 30


def test_a_scheduler_without_workers_says_so_and_stops(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    write_recipe(tmp_path / "recipes", minimal_recipe("toy"))
    env = dict(os.environ, ZOO_SCHEDULER_WAIT="2", ZOO_CACHE_DIR=str(tmp_path / "cache"))
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:
        cmd = [sys.executable, "-m", "zookit", "--recipes", str(tmp_path / "recipes"), "run", "--all"]
        cmd += ["--zoo-dir", str(tmp_path / "zoo"), "--scheduler", cluster.scheduler_address]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "has no workers yet" in done.stderr, done.stderr
    assert "no worker joined" in done.stderr and "Traceback" not in done.stderr


def test_dry_run_with_report_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_recipe(tmp_path / "recipes", minimal_recipe("toy"))
    code = main(
        [
            "--recipes",
            str(tmp_path / "recipes"),
            "run",
            "--all",
            "--dry-run",
            "--report",
            str(tmp_path / "r.json"),
        ]
    )
    assert (
        code == 2 and "--dry-run use --json" in capsys.readouterr().err and not (tmp_path / "r.json").exists()
    )


def test_empty_recipes_and_a_file_for_a_folder_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--recipes", "", "list"]) == 2
    assert "empty or NUL" in capsys.readouterr().err
    (tmp_path / "f.yaml").write_text("x: 1\n")
    monkeypatch.setenv("ZOO_RECIPES", str(tmp_path / "f.yaml"))
    assert main(["list"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    monkeypatch.delenv("ZOO_RECIPES")
    assert main(["--recipes", "mlperf_tiny", "show", "vww_mobilenet"]) == 0  # the folder's name works too
    capsys.readouterr()
    assert main(["show", "vww_mobilenet"]) == 2
    assert "pass --recipes mlperf-tiny" in capsys.readouterr().err
