"""Shared fixtures: a real HTTP server on 127.0.0.1 that can misbehave on request, and recipe helpers."""

from __future__ import annotations

import gzip
import hashlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_MODELS = REPO.parent / "shared" / "models"


@dataclass
class Route:
    body: bytes
    mode: str = (
        "ok"  # ok, 404, 500-then-ok, drop-half, ignore-range, short-length, trickle, wrong-bytes, always-500,
        # html-drop (200, an HTML page, then the connection drops), gzip-encoded (the bytes as they are,
        # labelled Content-Encoding: gzip), gzip (the bytes gzip-compressed, labelled so, whatever the client
        # asked: a server forcing compression), retry-after (503 with a Retry-After header), drip (a byte every
        # 0.1 s: each read is quick, the whole is not)
    )
    failures: int = 1  # how many requests misbehave before the route serves normally
    retry_after: str = "1"  # the Retry-After header of mode retry-after
    requests: list[dict[str, str]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path)
        if route is None:
            self._send(404, b"not found")
            return
        route.requests.append(dict(self.headers))
        misbehave = len(route.requests) <= route.failures
        body, start = route.body, 0
        mode = route.mode
        if mode == "404":
            self._send(404, b"gone")
            return
        if mode == "always-500" or (mode == "500-then-ok" and misbehave):
            self._send(500, b"boom")
            return
        if mode == "retry-after" and misbehave:
            self.send_response(503)
            self.send_header("Retry-After", route.retry_after)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"busy")
            return
        if mode == "html-drop" and misbehave:
            page = b"<html><body>Service temporarily unavailable</body></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(page)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if mode == "wrong-bytes":
            body = bytes(reversed(body))
        if mode == "gzip":
            body = gzip.compress(body, mtime=0)
        rng = self.headers.get("Range")
        if rng and mode != "ignore-range":
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self._send(416, b"")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        announced = len(payload) + (100 if mode == "short-length" else 0)
        self.send_header("Content-Length", str(announced))
        self.send_header("Accept-Ranges", "bytes")
        if mode in ("gzip-encoded", "gzip"):
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if mode in ("drop-half", "ignore-range") and misbehave:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if mode == "trickle":
            for i in range(0, min(len(payload), 5)):
                self.wfile.write(payload[i : i + 1])
                self.wfile.flush()
                time.sleep(0.6)
            self.close_connection = True
            return
        if mode == "drip":
            try:
                for i in range(len(payload)):
                    self.wfile.write(payload[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:  # the client gave up: what the test wants
                pass
            self.close_connection = True
            return
        self.wfile.write(payload)
        if mode == "short-length":
            self.close_connection = True

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (a download cut off on purpose, a stopped test) is not an error of the
        server: without this, socketserver prints its traceback to stderr, where tests look for ours."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FileServer:
    """Serves ``add``-ed bytes at http://127.0.0.1:PORT/<name>; each route keeps the requests it saw."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = {}
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, name: str, body: bytes, mode: str = "ok", failures: int = 1, retry_after: str = "1") -> str:
        self._server.routes[f"/{name}"] = Route(body, mode, failures=failures, retry_after=retry_after)
        return f"{self.base}/{name}"

    def route(self, name: str) -> Route:
        return self._server.routes[f"/{name}"]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[FileServer]:
    srv = FileServer()
    yield srv
    srv.stop()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def minimal_recipe(name: str = "toy", **overrides: Any) -> dict[str, Any]:
    """A valid recipe document; ``overrides`` replace top-level fields."""
    doc: dict[str, Any] = {
        "name": name,
        "description": "a toy model for tests",
        "task": "classification",
        "license": "MIT",
        "sources": [
            {"file": "toy.pb", "urls": ["http://127.0.0.1:9/toy.pb"], "size": None, "checksum": None}
        ],
        "model": {"format": "tf-frozen-graph", "path": "toy.pb"},
        "inputs": [{"name": "input", "shape": [1, 4], "dtype": "float32", "value_range": [-1.0, 1.0]}],
        "outputs": [{"name": "output", "shape": [1, 2], "dtype": "float32"}],
        "targets": [{"name": "tflite-float32", "format": "tflite"}],
    }
    doc.update(overrides)
    return doc


def write_recipe(folder: Path, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
