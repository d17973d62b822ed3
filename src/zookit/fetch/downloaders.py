"""Protocols: stream one URL (or local file) into a partial file, hashing the bytes as they pass.

Nothing here knows about recipes, caches or archives. A download resumes a partial file with an HTTP
Range request, retries connection errors and 5xx answers with backoff, and says at the end which
digest the complete file has. The caller decides whether that digest is the right one.
"""

from __future__ import annotations

import email.utils
import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from zookit.hashes import CHUNK, Hasher, make_hasher

if TYPE_CHECKING:
    import requests

ProgressFn = Callable[[int], None]


# The longest Retry-After zookit honours; a server asking for more is treated as failing.
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class HttpOptions:
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 3
    backoff: float = 1.0
    chunk_size: int = CHUNK
    deadline: float | None = None  # seconds for one file in all (attempts and waits included)


class TransientError(Exception):
    """Worth another try at the same URL (connection dropped, timeout, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def open_new(path: Path, append: bool = False) -> BinaryIO:
    """Open ``path`` for writing without following a symbolic link planted at that name."""
    flags = os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | (os.O_RDWR if append else os.O_WRONLY | os.O_TRUNC)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceFailed(f"{path} is a symbolic link; refusing to write through it") from None
        raise
    return os.fdopen(fd, "r+b" if append else "wb")


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
        import urllib3

        deadline = time.monotonic() + self.options.deadline if self.options.deadline else None
        last: TransientError | None = None
        for attempt in range(self.options.retries + 1):
            if attempt:
                wait = self.options.backoff * 2 ** (attempt - 1)
                if last is not None and last.retry_after is not None:
                    wait = last.retry_after
                if deadline is not None and time.monotonic() + wait > deadline:
                    break
                self._sleep(wait)
            try:
                return self._attempt(url, part, algo=algo, size=size, progress=progress, deadline=deadline)
            except TransientError as exc:
                last = exc
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError,
            ) as exc:
                why = _describe_request_error(exc)
                if why == UNRESOLVED:  # no DNS answer is not a passing fault: asking again only waits
                    raise SourceFailed(why) from None
                last = TransientError(why)
            except requests.RequestException as exc:
                raise SourceFailed(f"request failed: {_describe_request_error(exc)}") from None
            if deadline is not None and time.monotonic() >= deadline:
                break
        if deadline is not None and time.monotonic() >= deadline - 1e-3:
            raise SourceFailed(f"not complete within the deadline of {self.options.deadline:g} s ({last})")
        raise SourceFailed(f"gave up after {self.options.retries + 1} attempts: {last}")

    def _attempt(
        self,
        url: str,
        part: Path,
        *,
        algo: str,
        size: int | None,
        progress: ProgressFn | None,
        deadline: float | None = None,
    ) -> str:
        if part.is_symlink():
            raise SourceFailed(f"{part} is a symbolic link; refusing to write through it")
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
                delay = _retry_after(resp.headers.get("Retry-After"))
                if delay is not None and delay > MAX_RETRY_AFTER:
                    raise SourceFailed(
                        f"HTTP {resp.status_code} {resp.reason}, retry after {delay:.0f} s: longer than "
                        f"zookit waits ({MAX_RETRY_AFTER:.0f} s)"
                    )
                raise TransientError(f"HTTP {resp.status_code} {resp.reason}", delay)
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
            encoded = resp.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")
            if (
                not encoded  # encoded bytes (gzip despite Accept-Encoding: identity) are not the file's size
                and announced is not None
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
            if encoded and size is not None:  # room for gzip's overhead on incompressible bytes
                size += size // 100 + 1024
            return self._stream(resp, part, have, hasher, size, progress, deadline, encoded)

    def _stream(
        self,
        resp: requests.Response,
        part: Path,
        have: int,
        hasher: Hasher,
        size: int | None,
        progress: ProgressFn | None,
        deadline: float | None = None,
        encoded: bool = False,
    ) -> str:
        received = have
        with open_new(part, append=bool(have)) as out:
            out.seek(have)
            out.truncate()
            # The raw bytes as served: a Content-Encoding (gzip on a .tgz, say) is not undone here, as curl
            # does without --compressed, so the checksum and size are those of the file itself (a server
            # that really compressed the file is decoded by the fetcher when the raw bytes do not verify
            # and the decoded ones do: fetch.gunzip_if_it_verifies). read1
            # returns what one read of the socket gives: a server dripping bytes cannot hold a read (and
            # the deadline check) for a whole chunk.
            while chunk := resp.raw.read1(self.options.chunk_size, decode_content=False):
                if deadline is not None and time.monotonic() > deadline:
                    raise SourceFailed(
                        f"not complete within the deadline of {self.options.deadline:g} s "
                        f"({received} bytes received)"
                    )
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
        if size is not None and received < size and not encoded:
            raise TransientError(f"connection closed after {received} of {size} bytes")
        return hasher.hexdigest()


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (a number of seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _range_starts_at(resp: requests.Response, offset: int) -> bool:
    content_range = resp.headers.get("Content-Range", "")
    try:
        start = int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return False
    return start == offset


UNRESOLVED = "cannot resolve the host name (no internet?)"


def _describe_request_error(exc: Exception) -> str:
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text or "Failed to resolve" in text:
        return UNRESOLVED
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
    with open(src, "rb") as f, open_new(part) as out:
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
