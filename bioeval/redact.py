"""Secrets never reach what the kit writes or prints: one scrubbing function for all of it.

A secret is the value of HF_TOKEN, HUGGING_FACE_HUB_TOKEN, of any environment variable whose
name looks secret (TOKEN, SECRET, PASSWORD, PWD, PAT, ..._KEY; see ``looks_secret``), or a URL
that carries a password (``postgres://user:password@host``) whatever its variable's name.  ``scrub`` replaces
each such value with ``***``; it is applied by the atomic writers (receipts, scores, reports,
sbatch scripts, logs written through them), the docker runtime's container log and the CLI's
stdout/stderr.  Values shorter than ``MIN_LENGTH`` are left alone: replacing ``1`` or ``true``
everywhere would corrupt JSON and leaks nothing.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re

MASK = "***"
MIN_LENGTH = 8
KNOWN = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
# Words that mark a secret wherever they stand in a part of the name (HFTOKEN, APITOKEN, SECRETKEY,
# PGPASSWORD); short words count as a whole part or at a part's end (GH_PAT, MYSQL_PWD, DB_PASS,
# SSHKEY, SENTRY_DSN): anywhere would take PATH, PATIENT or COMPASS for secrets.
_LONG_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "APIKEY", "COOKIE")
_SHORT_WORDS = ("KEY", "KEYS", "PAT", "PASS", "PWD", "DSN", "AUTH")
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})  # the current and previous folder, set by every shell
_PARTS = re.compile(r"[A-Z]+")  # parts of a name: split at `_`, digits and anything else
# a URL that carries a password: scheme://user:password@host (DATABASE_URL, REDIS_URL, ...)
CREDENTIAL_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:([^\s/@]+)@")


@functools.lru_cache(maxsize=4096)
def looks_secret(name: str) -> bool:
    """True for names like HF_TOKEN, AWS_SECRET_ACCESS_KEY, PGPASSWORD, MYSQL_PWD, GH_PAT, HFTOKEN."""
    upper = name.upper()
    if upper in KNOWN:
        return True
    if upper in _NOT_SECRET:
        return False
    return any(word in part for part in _PARTS.findall(upper) for word in _LONG_WORDS) or \
        any(part.endswith(word) for part in _PARTS.findall(upper) for word in _SHORT_WORDS)


def carries_credentials(value: str) -> bool:
    """True for a value such as postgres://user:password@host/db."""
    return bool(CREDENTIAL_URL.search(value or ""))


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """The secret values in ``environ`` (default: this process's), longest first."""
    # cached per environment: rich scrubs every table cell, and the environment rarely changes;
    # os.environ's raw bytes make the key without decoding every variable on each call
    raw = getattr(os.environ, "_data", None)  # CPython's mapping of os.environ
    if (environ is None or environ is os.environ) and isinstance(raw, dict):
        return list(_secret_values_of_bytes(tuple(raw.items())))
    environ = os.environ if environ is None else environ
    return list(_secret_values(tuple(environ.items())))


@functools.lru_cache(maxsize=16)
def _secret_values_of_bytes(items: tuple) -> tuple[str, ...]:
    return _secret_values(tuple((os.fsdecode(k), os.fsdecode(v)) for k, v in items))


@functools.lru_cache(maxsize=16)
def _secret_values(items: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    values = {v for k, v in items if looks_secret(k) and v and len(v) >= MIN_LENGTH}
    for _, v in items:  # DATABASE_URL=postgres://u:p@h: the whole URL and its password alone
        for match in CREDENTIAL_URL.finditer(v or ""):
            values.add(v)
            if len(match.group(1)) >= MIN_LENGTH:
                values.add(match.group(1))
    return tuple(sorted(values, key=len, reverse=True))


def scrub(text: str, environ: dict[str, str] | None = None) -> str:
    """``text`` with every secret value (also in its JSON-escaped form) replaced by ``***``."""
    for value in secret_values(environ):
        if value in text:
            text = text.replace(value, MASK)
        escaped = json.dumps(value)[1:-1]
        if escaped != value and escaped in text:
            text = text.replace(escaped, MASK)
    return text


class ScrubbingStream(io.TextIOBase):
    """A text stream that scrubs what goes through it (the CLI wraps stdout/stderr in it)."""

    def __init__(self, inner):
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(scrub(text))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    @property
    def encoding(self):  # type: ignore[override]
        return getattr(self.inner, "encoding", "utf-8")

    def __getattr__(self, name):
        return getattr(self.inner, name)
