"""Secrets never leave the machine: redaction of configurations, JSON files and text.

Used by everything that writes where others may read: the experiment tracker's run configurations, the
files that `publish` uploads, error messages. A key that names a token, key, secret or password has its
value replaced by ``"<redacted>"``; the values of the environment's secret variables, Hugging Face tokens,
passwords in URLs and secret query parameters are removed from any text.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

REDACTED = "<redacted>"

_SECRET_WORDS = {"token", "secret", "password", "passwd", "passphrase", "key", "apikey", "credential",
                 "credentials", "auth", "authorization", "cookie", "bearer", "signature"}
# "eos_token", "pad_token", "max_key"...: names of tokenizer tokens and settings, not secrets.
_HARMLESS_BEFORE = {"pad", "eos", "bos", "unk", "sep", "cls", "mask", "special", "added", "end", "start",
                    "sort", "primary", "cache", "dict", "max", "min", "num", "new", "chat", "split"}


def is_secret_key(key: Any) -> bool:
    """Whether a configuration key names a secret (``hub_token``, ``api_key``, ``X_BEARER_TOKEN``)."""
    if not isinstance(key, str):
        return False
    words = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower())
    if not words:
        return False
    if any(w in ("password", "passwd", "secret", "apikey", "credentials", "credential") for w in words):
        return True
    last = words[-1]
    if last in ("token", "key") and len(words) > 1 and words[-2] in _HARMLESS_BEFORE:
        return False
    return last in _SECRET_WORDS


def secret_values() -> list[str]:
    """Values of the environment's secret variables (``HF_TOKEN``, ``WANDB_API_KEY`` ...), longest first."""
    values = {v for k, v in os.environ.items() if is_secret_key(k) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@]+):([^/\s@]+)@")
_QUERY_SECRET = re.compile(r"([?&](?:[A-Za-z_]*(?:token|key|secret|password|signature|sig)))=([^&\s#]+)", re.I)


def scrub_text(text: str, secrets: Sequence[str] | None = None) -> str:
    """``text`` with known secret values, Hub tokens, URL passwords and secret query parameters redacted."""
    for s in secret_values() if secrets is None else secrets:
        text = text.replace(s, REDACTED)
    text = _HF_TOKEN.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
    return _QUERY_SECRET.sub(rf"\1={REDACTED}", text)


def scrub(obj: Any, secrets: Sequence[str] | None = None) -> Any:
    """A copy of a configuration with every secret redacted (by key name and by value).

    Mappings, lists and dataclasses are walked; a key such as ``hub_token`` or ``api_key`` has its
    value replaced by ``"<redacted>"``; strings anywhere have secret values removed (``scrub_text``).
    """
    secrets = secret_values() if secrets is None else secrets
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, Mapping):
        return {k: (REDACTED if is_secret_key(k) and v not in (None, "", False) else scrub(v, secrets))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v, secrets) for v in obj]
    if isinstance(obj, str):
        return scrub_text(obj, secrets)
    if isinstance(obj, Path):
        return scrub_text(str(obj), secrets)
    return obj


def public_paths(text: str) -> str:
    """``text`` as it may be published: a path inside a web-app visitor's folder written relative to that
    folder (its name identifies the visitor), and the home folder written ``~``.

    Example: ``/home/me/.huggingtweets/app/sessions/9f3c.../datasets/a1/x`` -> ``datasets/a1/x``.
    """
    from .paths import app_sessions_dir

    sessions = str(app_sessions_dir())
    for form in (sessions, sessions.replace("\\", "\\\\")):  # as written, and as a JSON string holds it
        text = re.sub(re.escape(form) + r"[/\\]+[^/\\\s\"']+[/\\]+", "", text)
    home = str(Path.home())
    if len(home) > 1:
        text = text.replace(home, "~")
    return text
