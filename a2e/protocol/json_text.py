"""JSON text with bounds, for request bodies and workflow lines alike (pure, no I/O).

:func:`nesting_depth` measures how deep arrays and objects nest without recursing, so
a body nested a thousand deep is refused before :func:`json.loads` could hit Python's
recursion limit; :func:`loads` refuses NaN/Infinity and strings holding a lone UTF-16
surrogate (no database can store one); :func:`make_encoder` gives a ``json.dumps`` made
once instead of per call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JSONTextError(ValueError):
    """Text that is not JSON within the bounds; the message says why."""


def nesting_depth(text: str, stop_above: int = MAX_DEPTH) -> int:
    """How deep arrays and objects nest in ``text`` (strings skipped), counting no
    further once past ``stop_above``."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > stop_above:
            break
    return deepest


def too_deep(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``max_depth``. Nesting
    never exceeds the number of opening brackets, which is counted first (in C)."""
    return (text.count("[") + text.count("{") > max_depth
            and nesting_depth(text, max_depth) > max_depth)


def _reject_constant(name: str) -> Any:
    raise JSONTextError(f"{name} is not JSON")


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode ``text``; JSONTextError when it is not JSON, nests deeper than
    ``max_depth`` or holds a lone surrogate."""
    if too_deep(text, max_depth):
        raise JSONTextError(f"JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise JSONTextError(f"invalid JSON at line {error.lineno} column {error.colno}: "
                            f"{error.msg}") from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise JSONTextError(f"JSON nested deeper than {max_depth} levels") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise JSONTextError("JSON text with a lone surrogate (\\ud800-\\udfff) "
                                "is not valid Unicode") from None
    return value


def make_encoder(
    *, separators: tuple[str, str] = (", ", ": "), ensure_ascii: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> Callable[[Any], str]:
    """``json.dumps`` with these options, its C encoder built once: ``json.dumps`` and
    ``JSONEncoder.encode`` build one per call, which costs about as much as encoding a
    small value. The text is the same as theirs; a value that contains itself raises
    RecursionError rather than ValueError (no cycle check: JSON values have none)."""
    encoder = json.JSONEncoder(separators=separators, ensure_ascii=ensure_ascii,
                               default=default, check_circular=False)
    make = json.encoder.c_make_encoder
    if make is None:  # no C accelerator (not CPython)
        return encoder.encode
    strings = (json.encoder.encode_basestring_ascii if ensure_ascii
               else json.encoder.encode_basestring)
    return _Encode(make(None, encoder.default, strings, None, separators[1], separators[0],
                        False, False, True))


class _Encode:
    """A value's text from a C encoder's chunks. A class, not a closure: psycopg keys its
    dumpers by the function, and warns of a leak for one that is a closure."""

    __slots__ = ("_chunks",)

    def __init__(self, chunks: Callable[[Any, int], Any]) -> None:
        self._chunks = chunks

    def __call__(self, value: Any) -> str:
        return "".join(self._chunks(value, 0))
