"""Secrets never reach what the kit writes or prints: one scrubbing function for all of it.

A secret is the value of HF_TOKEN, HUGGING_FACE_HUB_TOKEN or of any environment variable whose
name looks secret (TOKEN, SECRET, PASSWORD, ..._KEY; see ``looks_secret``).  ``scrub`` replaces
each such value with ``***``; it is applied by the atomic writers (receipts, scores, reports,
sbatch scripts, logs written through them), the docker runtime's container log and the CLI's
stdout/stderr.  Values shorter than ``MIN_LENGTH`` are left alone: replacing ``1`` or ``true``
everywhere would corrupt JSON and leaks nothing.
"""

from __future__ import annotations

import io
import json
import os
import re

MASK = "***"
MIN_LENGTH = 8
KNOWN = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
# name parts that mark a secret; PWD/OLDPWD (the current folder) are not passwords
_SECRET_PART = re.compile(
    r"(^|_)(TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PASSPHRASE|KEY|KEYS|APIKEY|CREDENTIAL|CREDENTIALS"
    r"|AUTH|COOKIE)(_|$)")


def looks_secret(name: str) -> bool:
    """True for names like HF_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD, OPENAI_API_KEY."""
    return name.upper() in KNOWN or bool(_SECRET_PART.search(name.upper()))


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """The secret values in ``environ`` (default: this process's), longest first."""
    environ = os.environ if environ is None else environ
    values = {v for k, v in environ.items() if looks_secret(k) and v and len(v) >= MIN_LENGTH}
    return sorted(values, key=len, reverse=True)


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
