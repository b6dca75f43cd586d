"""Data paths into a run's JSON data model (PROTOCOL §2).

A path starts with ``/`` and names keys and list indices:
``/workflow/users``, ``/workflow/users[0]``, ``/workflow/users/0``,
``/workflow/users[0].name``, ``/workflow/users/0/name``, ``/loop/item``,
``/store/<key>``. Segments are separated by ``/`` or ``.``; ``[n]`` is an index.

A canonical decimal segment (``0``, ``12``, not ``007``) parses as an ``int``:
on a list it is the index, on an object the key ``"0"``. Keys may not contain
``/ . [ ] { }`` or whitespace. A path that does not resolve raises
:class:`~a2e.errors.DataError` naming the path, never a silent ``None``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from a2e.errors import DataError

Segment = str | int

MAX_PATH_LENGTH = 1000

_KEY = r"[^/.\[\]{}\s]+"
_PART = re.compile(rf"({_KEY})((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
_CANONICAL_INT = re.compile(r"0|[1-9]\d{0,17}")
PLACEHOLDER = re.compile(r"\{(/[^{}\s]*)\}")


def parse_path(path: str) -> tuple[Segment, ...]:
    """Split ``path`` into its segments; list indices (and canonical numbers) as ``int``."""
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_PATH_LENGTH:
        raise _malformed(path, "a path is a string starting with '/'")
    return _parse(path)


@functools.lru_cache(maxsize=4096)  # bounded: at most 4096 paths of MAX_PATH_LENGTH
def _parse(path: str) -> tuple[Segment, ...]:
    """The segments of a well-formed path (validation and every step parse the same few)."""
    segments: list[Segment] = []
    for part in re.split(r"[/.]", path[1:]):
        segments.extend(_parse_part(path, part))
    return tuple(segments)


def _parse_part(path: str, part: str) -> list[Segment]:
    match = _PART.fullmatch(part)
    if match is None:
        raise _malformed(path, f"bad segment {part!r}")
    key, indices = match.groups()
    segments: list[Segment] = [_key_segment(key)]
    segments.extend(int(index) for index in _INDEX.findall(indices))
    return segments


def _key_segment(key: str) -> Segment:
    return int(key) if _CANONICAL_INT.fullmatch(key) else key


def _malformed(path: object, reason: str) -> DataError:
    shown = path if isinstance(path, str) else repr(path)
    return DataError(f"malformed path {shown[:200]}: {reason}", details={"path": shown[:MAX_PATH_LENGTH]})


def format_path(segments: tuple[Segment, ...]) -> str:
    """The slash form of ``segments`` (``("a", 0)`` → ``/a/0``)."""
    return "/" + "/".join(str(segment) for segment in segments)


def read_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` in ``data``; a path that does not resolve raises DataError."""
    value: Any = data
    for segment in parse_path(path):
        value = _step(value, segment, path)
    return value


def _step(value: Any, segment: Segment, path: str) -> Any:
    if isinstance(value, Mapping):
        key = str(segment)
        if key in value:
            return value[key]
        raise _not_found(path, f"no key {key!r}")
    if isinstance(value, list):
        if isinstance(segment, int) and segment < len(value):
            return value[segment]
        raise _not_found(path, f"no index {segment!r} in a list of {len(value)}")
    raise _not_found(path, f"{type(value).__name__} has no {segment!r}")


def _not_found(path: str, reason: str) -> DataError:
    return DataError(f"path {path} not found ({reason})", details={"path": path})


def write_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Store ``value`` at ``path``, creating missing objects on the way.

    An index within a list's range replaces that item; any other index, or a
    step into a string, number, boolean or null, raises DataError.
    """
    *parents, last = parse_path(path)
    container: Any = data
    for segment in parents:
        if isinstance(container, dict) and str(segment) not in container:
            container[str(segment)] = {}
        container = _step(container, segment, path)
    _assign(container, last, value, path)


def _assign(container: Any, segment: Segment, value: Any, path: str) -> None:
    if isinstance(container, dict):
        container[str(segment)] = value
    elif isinstance(container, list) and isinstance(segment, int) and segment < len(container):
        container[segment] = value
    else:
        raise DataError(f"cannot write path {path}: no place for {segment!r}", details={"path": path})


def to_text(value: Any) -> str:
    """A value as it appears inside a string: strings as is, others as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render_template(text: str, data: Mapping[str, Any], *, encode: Callable[[str], str] | None = None) -> str:
    """Replace every ``{/path}`` in ``text`` by the value there (``encode`` applied, if given).

    A ``{`` not followed by ``/`` is literal, and so is ``{/...}`` holding whitespace.
    """

    def substitute(match: re.Match[str]) -> str:
        rendered = to_text(read_path(data, match.group(1)))
        return encode(rendered) if encode else rendered

    return PLACEHOLDER.sub(substitute, text)


def is_path_ref(value: Any) -> bool:
    """Whether ``value`` is a reference ``{"path": "<path>"}``."""
    return isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get("path"), str)


def is_credential_ref(value: Any) -> bool:
    """Whether ``value`` is a ``{"credentialRef": ...}`` object (substituted by the engine)."""
    return isinstance(value, Mapping) and len(value) == 1 and "credentialRef" in value


def resolve_refs(value: Any, data: Mapping[str, Any]) -> Any:
    """A deep copy of ``value`` with path references and ``{/path}`` templates resolved.

    ``{"path": p}`` becomes (a copy of) the data at ``p``; strings go through
    :func:`render_template`; ``{"credentialRef": ...}`` objects are copied
    untouched; object keys are never rendered.
    """
    if is_path_ref(value):
        return copy.deepcopy(read_path(data, value["path"]))
    if is_credential_ref(value):
        return copy.deepcopy(dict(value))
    if isinstance(value, Mapping):
        return {key: resolve_refs(item, data) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_refs(item, data) for item in value]
    if isinstance(value, str):
        return render_template(value, data)
    return value


def referenced_paths(value: Any) -> Iterator[str]:
    """Every path that :func:`resolve_refs` would read in ``value`` (templates and references)."""
    if is_path_ref(value):
        yield value["path"]
    elif is_credential_ref(value):
        return
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from referenced_paths(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from referenced_paths(item)
    elif isinstance(value, str):
        yield from template_paths(value)


def template_paths(text: str) -> list[str]:
    """The paths of the ``{/path}`` placeholders in ``text``, in order."""
    return [match.group(1) for match in PLACEHOLDER.finditer(text)]


def path_covers(written: str, read: str) -> bool:
    """Whether a write of ``written`` makes ``read`` resolvable.

    True when one is a prefix of the other: a read of ``/workflow/users[0].name``
    goes inside a write of ``/workflow/users``, and a write of ``/workflow/a/b``
    creates ``/workflow/a``.
    """
    written_segments = _normalized(written)
    read_segments = _normalized(read)
    shorter = min(len(written_segments), len(read_segments))
    return written_segments[:shorter] == read_segments[:shorter]


def _normalized(path: str) -> tuple[str, ...]:
    return tuple(str(segment) for segment in parse_path(path))
