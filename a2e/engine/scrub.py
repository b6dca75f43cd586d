"""Scrubbing the secrets a run sent out of what comes back (PROTOCOL §11 "Bounds").

A server may echo a credential: in its body, in a header it reflects into the body, or
encoded. :class:`Scrubber` knows every secret a run has sent and the forms a later
operation could derive from it — the secret itself and, for ``Bearer x`` / ``Basic x``
values, the token ``x``; each of those as base64 (standard and URL-safe, padded or not, and
the part that stays the same wherever the secret sits in a longer base64 text), hex (either
case) and percent-encoding (either case). Every such form is replaced by ``[REDACTED]`` in
every string, and every key, of a value before it enters the run's data.
"""

from __future__ import annotations

import base64
import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f\x7f\u2028\u2029]')
SCHEMES = ("bearer ", "basic ", "token ")


def _cores(secret: str) -> list[str]:
    """The secret and, after an auth scheme word, the token alone."""
    cores = [secret]
    lowered = secret.lower()
    for scheme in SCHEMES:
        if lowered.startswith(scheme) and secret[len(scheme):].strip():
            cores.append(secret[len(scheme):].strip())
    return cores


def _base64_forms(raw: bytes) -> set[str]:
    """The base64 forms of ``raw``: alone (padded or not), and at each of the three byte
    offsets it may have inside a longer text, the characters that depend on ``raw`` only
    (whole 3-byte groups; at least 8 characters, so short secrets are matched aligned only)."""
    encoded = base64.b64encode(raw).decode("ascii")
    forms = {encoded, encoded.rstrip("=")}
    for offset in range(3):
        shifted = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        middle = shifted[4 if offset else 0: (offset + len(raw)) // 3 * 4]
        if len(middle) >= 8:
            forms.add(middle)
    return forms | {form.replace("+", "-").replace("/", "_") for form in forms}


@lru_cache(maxsize=128)
def derived_forms(secret: str) -> frozenset[str]:
    """Every form of ``secret`` the scrubber replaces (empty strings excluded; kept for the
    secrets used most recently, so a run does not derive them again)."""
    forms: set[str] = set()
    for core in _cores(secret):
        raw = core.encode("utf-8")
        forms.add(core)
        forms |= _base64_forms(raw)
        forms |= {raw.hex(), raw.hex().upper()}
        for encoded in (quote(core, safe=""), quote(core), quote_plus(core)):
            forms |= {encoded, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)}
    return frozenset(form for form in forms if form)


class Scrubber:
    """The secrets one run has sent, and all their derived forms (longest first, so a form
    inside another is not replaced before the outer one)."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._forms: tuple[str, ...] = ()
        self._escaped = False  # a form that JSON text would escape: always walk the value

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def add(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.add(secret)
            forms = frozenset().union(*(derived_forms(s) for s in self._secrets))
            self._forms = tuple(sorted(forms, key=len, reverse=True))
            self._escaped = any(_JSON_ESCAPED.search(form) for form in forms)

    def scrub(self, value: Any) -> Any:
        """``value`` with every derived form of every secret replaced, keys included.

        Done on the value's JSON text where it can be (a substring search and replace per
        form, then one parse: all in C); the value is walked instead when a form holds a
        character JSON escapes, or when a replacement fell outside a string."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self._replace(value)
        if not self._escaped:
            try:
                text = json.dumps(value, ensure_ascii=False, default=str)
            except (RecursionError, ValueError):
                return self._walk(value)
            if not any(form in text for form in self._forms):
                return value
            try:
                return json.loads(self._replace(text))
            except (RecursionError, ValueError):
                pass
        return self._walk(value)

    def _replace(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._replace(value)
        if isinstance(value, dict):
            return {self._walk(key): self._walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._walk(item) for item in value]
        return value
