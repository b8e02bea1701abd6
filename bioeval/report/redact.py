"""Keep secrets out of reports without hiding the facts a reader needs.

A key is secret when its last word names a credential (HF_TOKEN, api_key, password, ...);
tokenizer settings that only contain the word (max_new_tokens, eos_token, pad_token, the
tokenizers version) are not.  Values that look like an access token are redacted whatever
their key, in case one slipped into a free-text field.
"""

from __future__ import annotations

import re

REDACTED = "(redacted)"
TOKENIZER_WORDS = re.compile(r"(?i)(^|[._-])(eos|bos|pad|unk|sep|cls|mask|chat|special)[_-]?tokens?(_id)?$")
SECRET_KEY = re.compile(r"(?i)(^|[._-])(token|secret|secrets|password|passwd|api[_-]?key|credentials?|auth)$")
SECRET_VALUE = re.compile(r"\b(hf_[A-Za-z0-9]{20,}|ghp_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b")


def is_secret_key(key: str) -> bool:
    key = str(key)
    return bool(SECRET_KEY.search(key)) and not TOKENIZER_WORDS.search(key)


def redact_text(text: str) -> str:
    """Token-looking values, and the values of secret environment variables (bioeval.redact)."""
    from bioeval.redact import scrub as scrub_environment

    return SECRET_VALUE.sub(REDACTED, scrub_environment(text))
