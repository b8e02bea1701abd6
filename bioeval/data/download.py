"""Stream a URL into the cache: temp file, sha256 while streaming, rename only when it matches.

Retries with exponential backoff on network errors and 5xx/429 answers; a 404 or 403 is
final at once (retrying cannot fix it).  ``BIOEVAL_RETRIES`` and ``BIOEVAL_BACKOFF`` (seconds
of the first wait) tune it, e.g. for slow links or for tests.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bioeval import __version__
from bioeval.data.cache import CHUNK, temp_file_in
from bioeval.errors import ChecksumMismatch, Unavailable

FINAL_HTTP = {400, 401, 403, 404, 410}



def _retries() -> int:
    return int(os.environ.get("BIOEVAL_RETRIES", "4"))


def _backoff() -> float:
    return float(os.environ.get("BIOEVAL_BACKOFF", "1.0"))


_UNRESOLVED: set[str] = set()  # hosts whose name did not resolve in this process (offline machine)


def unresolvable(url: str) -> bool:
    """True when the URL's host name does not resolve (no DNS: offline); remembered per process,
    so an offline audit of 30 files pays the DNS timeout once per host, not once per file."""
    host = urllib.parse.urlsplit(url).hostname
    if not host or url.startswith("file:"):
        return False
    if host in _UNRESOLVED:
        return True
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror:
        _UNRESOLVED.add(host)
        return True
    except OSError:
        return False
    return False


def download(url: str, dest: Path, expected_sha256: str | None, *, label: str = "") -> str:
    """Download ``url`` to ``dest`` (atomic); return the sha256. Raises Unavailable or ChecksumMismatch."""
    if unresolvable(url):
        raise Unavailable(f"could not download {url}: the host name does not resolve (offline?).",
                          "Give --data-mirror DIR (or BIOEVAL_DATA_MIRROR) holding the file, or fetch it on a "
                          "machine with internet and copy the cache ($BIOEVAL_CACHE).")
    attempts = max(1, _retries())
    last: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(_backoff() * 2 ** (attempt - 1))
        try:
            return _download_once(url, dest, expected_sha256, label or dest.name)
        except urllib.error.HTTPError as exc:
            last = exc
            if exc.code in FINAL_HTTP:
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            last = exc
            if isinstance(getattr(exc, "reason", None), socket.gaierror):
                break  # no DNS: this machine is offline, retrying only wastes the user's time
    reason = f"HTTP {last.code}" if isinstance(last, urllib.error.HTTPError) else str(getattr(last, "reason", last))
    final = (isinstance(last, urllib.error.HTTPError) and last.code in FINAL_HTTP) or \
        isinstance(getattr(last, "reason", None), socket.gaierror)
    tries = "" if final else f" after {attempts} attempts"
    raise Unavailable(f"could not download {url}: {reason}{tries}.",
                      "Check the network (or set --data-mirror / BIOEVAL_DATA_MIRROR to a folder that holds the file).")


def _download_once(url: str, dest: Path, expected: str | None, label: str) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": f"bioeval/{__version__}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        total = response.headers.get("Content-Length")
        f, tmp = temp_file_in(dest.parent, dest.name)
        try:
            digest = hashlib.sha256()
            with f, _progress(label, int(total) if total and total.isdigit() else None) as advance:
                while chunk := response.read(CHUNK):
                    digest.update(chunk)
                    f.write(chunk)
                    advance(len(chunk))
            actual = digest.hexdigest()
            if expected and actual != expected:
                raise ChecksumMismatch(url, expected, actual)
            os.replace(tmp, dest)
            return actual
        finally:
            tmp.unlink(missing_ok=True)


class _progress:
    """A rich progress bar on stderr for one file (silent when stderr is not a terminal)."""

    def __init__(self, label: str, total: int | None):
        self.label, self.total = label, total

    def __enter__(self):
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)
        from bioeval.console import console

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(), console=console(stderr=True),
                                 transient=True)
        self.progress.start()
        task = self.progress.add_task(self.label, total=self.total)
        return lambda n: self.progress.advance(task, n)

    def __exit__(self, *exc):
        self.progress.stop()
        return False
