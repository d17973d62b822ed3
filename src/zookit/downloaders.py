"""Protocols: stream one URL (or local file) into a partial file, hashing the bytes as they pass.

Nothing here knows about recipes, caches or archives. A download resumes a partial file with an HTTP
Range request, retries connection errors and 5xx answers with backoff, and says at the end which
digest the complete file has. The caller decides whether that digest is the right one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zookit.hashes import CHUNK, Hasher, make_hasher

if TYPE_CHECKING:
    import requests

ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class HttpOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    chunk_size: int = CHUNK


class TransientError(Exception):
    """Worth another try at the same URL (connection dropped, timeout, 5xx)."""


class SourceFailed(Exception):
    """This URL will not give the file (404, wrong size, exhausted retries): try the next one."""


def _hash_existing(path: Path, hasher: Hasher) -> int:
    done = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
            done += len(chunk)
    return done


class HttpDownloader:
    """Downloads with one shared requests session (connection reuse), safe to use from threads."""

    def __init__(self, options: HttpOptions | None = None, sleep: Callable[[float], None] = time.sleep):
        import requests

        self.options = options or HttpOptions()
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "zookit (model fetcher)"

    def close(self) -> None:
        self._session.close()

    def download(
        self, url: str, part: Path, *, algo: str, size: int | None, progress: ProgressFn | None = None
    ) -> str:
        """Complete ``part`` from ``url`` and return the hex digest of the whole file."""
        import requests

        last: Exception | None = None
        for attempt in range(self.options.retries + 1):
            if attempt:
                self._sleep(self.options.backoff * 2 ** (attempt - 1))
            try:
                return self._attempt(url, part, algo=algo, size=size, progress=progress)
            except TransientError as exc:
                last = exc
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                last = TransientError(_describe_request_error(exc))
            except requests.RequestException as exc:
                raise SourceFailed(f"request failed: {exc}") from None
        raise SourceFailed(f"gave up after {self.options.retries + 1} attempts: {last}")

    def _attempt(
        self, url: str, part: Path, *, algo: str, size: int | None, progress: ProgressFn | None
    ) -> str:
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have > size:
            part.unlink()
            have = 0
        hasher = make_hasher(algo, size)
        if have:
            _hash_existing(part, hasher)
        headers = (
            {"Range": f"bytes={have}-", "Accept-Encoding": "identity"}
            if have
            else {"Accept-Encoding": "identity"}
        )
        timeout = (self.options.connect_timeout, self.options.read_timeout)
        with self._session.get(url, stream=True, timeout=timeout, headers=headers) as resp:
            if have and resp.status_code == 416 and size == have:
                return hasher.hexdigest()
            if resp.status_code >= 500 or resp.status_code == 429:
                raise TransientError(f"HTTP {resp.status_code} {resp.reason}")
            if resp.status_code == 416:
                part.unlink()
                raise TransientError("the server refused to resume (HTTP 416); starting over")
            if resp.status_code not in (200, 206):
                raise SourceFailed(f"HTTP {resp.status_code} {resp.reason}")
            if have and (resp.status_code == 200 or not _range_starts_at(resp, have)):
                # The server ignored the Range request: start again from byte 0.
                have = 0
                hasher = make_hasher(algo, size)
            announced = resp.headers.get("Content-Length")
            if (
                announced is not None
                and announced.isdigit()
                and size is not None
                and have + int(announced) != size
            ):
                raise SourceFailed(
                    f"the server announces {have + int(announced)} bytes but the recipe says {size}: "
                    "it serves a different file"
                )
            if progress:
                progress(have)
            return self._stream(resp, part, have, hasher, size, progress)

    def _stream(
        self,
        resp: requests.Response,
        part: Path,
        have: int,
        hasher: Hasher,
        size: int | None,
        progress: ProgressFn | None,
    ) -> str:
        received = have
        with open(part, "r+b" if have else "wb") as out:
            out.seek(have)
            out.truncate()
            for chunk in resp.iter_content(self.options.chunk_size):
                received += len(chunk)
                if size is not None and received > size:
                    raise SourceFailed(f"the server sent more than the {size} bytes the recipe expects")
                out.write(chunk)
                hasher.update(chunk)
                if progress:
                    progress(len(chunk))
        announced = resp.headers.get("Content-Length")
        if announced is not None and announced.isdigit() and received - have != int(announced):
            raise TransientError(f"connection closed after {received - have} of {announced} bytes")
        if size is not None and received < size:
            raise TransientError(f"connection closed after {received} of {size} bytes")
        return hasher.hexdigest()


def _range_starts_at(resp: requests.Response, offset: int) -> bool:
    content_range = resp.headers.get("Content-Range", "")
    try:
        start = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return start == offset


def _describe_request_error(exc: Exception) -> str:
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text or "Failed to resolve" in text:
        return "cannot resolve the host name (no internet?)"
    if "Read timed out" in text:
        return "read timed out"
    if "ConnectTimeout" in type(exc).__name__ or "connect timeout" in text:
        return "connection timed out"
    if "Connection refused" in text:
        return "connection refused"
    if "IncompleteRead" in text or "Connection broken" in text:
        return "connection broken during the transfer"
    return text.splitlines()[0][:200] if text else type(exc).__name__


def copy_local(
    src: Path, part: Path, *, algo: str, size: int | None, progress: ProgressFn | None = None
) -> str:
    """Copy a file from a mirror folder into ``part``, hashing on the way; return the hex digest."""
    actual = src.stat().st_size
    if size is not None and actual != size:
        raise SourceFailed(f"{src} has {actual} bytes but the recipe says {size}")
    hasher = make_hasher(algo, actual)
    with open(src, "rb") as f, open(part, "wb") as out:
        while chunk := f.read(CHUNK):
            out.write(chunk)
            hasher.update(chunk)
            if progress:
                progress(len(chunk))
    return hasher.hexdigest()


def no_network_hint(file: str) -> str:
    return (
        f"without internet, pass --mirror DIR (a folder or URL that holds {file}) "
        "or --offline to use only the cache and mirrors"
    )
