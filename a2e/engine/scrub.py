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
import re
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
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


def derived_forms(secret: str) -> set[str]:
    """Every form of ``secret`` the scrubber replaces (empty strings excluded)."""
    forms: set[str] = set()
    for core in _cores(secret):
        raw = core.encode("utf-8")
        forms.add(core)
        forms |= _base64_forms(raw)
        forms |= {raw.hex(), raw.hex().upper()}
        for encoded in (quote(core, safe=""), quote(core), quote_plus(core)):
            forms |= {encoded, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), encoded)}
    return {form for form in forms if form}


class Scrubber:
    """The secrets one run has sent, as one pattern over all their derived forms."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __iter__(self):  # the plain secrets (for checks that need them as sent)
        return iter(self._secrets)

    def add(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.add(secret)
            forms = set().union(*(derived_forms(s) for s in self._secrets))
            # longest first, so a form inside another is not replaced before the outer one
            self._pattern = re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))

    def scrub(self, value: Any) -> Any:
        """``value`` with every derived form of every secret replaced, keys included."""
        if self._pattern is None:
            return value
        return _scrub(value, self._pattern)


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(REDACTED, value)
    if isinstance(value, dict):
        return {_scrub(key, pattern): _scrub(item, pattern) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, pattern) for item in value]
    return value
