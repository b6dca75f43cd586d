"""ExtractText: regular-expression matches in a string, time-bounded.

Uses the ``regex`` package for its ``timeout``: a pattern that backtracks catastrophically
fails with a TimeoutError instead of blocking the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import regex

from a2e.engine.ops._common import Context, data_error, preview, read_string, regex_timeout
from a2e.errors import ExecutionError, OperationTimeout
from a2e.protocol.catalog import OpSpec, in_path, one_spelling, opt, out_path, req

OP = "ExtractText"
FLAGS = {"IGNORECASE": regex.IGNORECASE, "MULTILINE": regex.MULTILINE, "DOTALL": regex.DOTALL}
MAX_MATCHES = 10_000


def run(ctx: Context, config: Mapping[str, Any]) -> Any:
    """All matches (``all``, default) or the first one (null if none). A match is the
    matched text; with named groups an object of them; with other groups a list of them.
    ``extractAll`` (the reference's spelling, default false): false gives the first match's
    whole text (null if none), true the list of all matches, each the matched text, its one
    group, or the list of its groups (as Python's ``findall``)."""
    text = read_string(ctx, OP, config["inputPath"])
    pattern = _compile(ctx, config["pattern"], config.get("flags", []))
    shape = _shape(pattern)
    timeout = regex_timeout(ctx, OP)
    every = config["extractAll"] if "extractAll" in config else config.get("all", True)
    if "extractAll" in config:
        shape = _found(pattern) if every else _whole
    try:
        if not every:
            match = pattern.search(text, timeout=timeout)
            return None if match is None else shape(match)
        found: list[Any] = []
        for match in pattern.finditer(text, timeout=timeout):
            if len(found) == MAX_MATCHES:
                raise ExecutionError(f"{OP}: more than {MAX_MATCHES} matches", operation_id=ctx.op_id,
                                     suggestions=["Narrow the pattern, or set \"all\": false"])
            found.append(shape(match))
        return found
    except TimeoutError:
        raise OperationTimeout(f"{OP}: pattern {preview(pattern.pattern)} ran out of time after {timeout:.2f} s",
                               operation_id=ctx.op_id,
                               suggestions=["Avoid nested quantifiers such as (a+)+"]) from None


def _compile(ctx: Context, pattern: str, flags: list[Any]) -> Any:
    unknown = [flag for flag in flags if not isinstance(flag, str) or flag not in FLAGS]
    if unknown:
        raise data_error(ctx, OP, f"unknown flags {preview(unknown)}",
                         suggestions=[f"Use any of {', '.join(FLAGS)}"])
    combined = 0
    for flag in flags:
        combined |= FLAGS[flag]
    try:
        return regex.compile(pattern, combined)
    except regex.error as exc:
        raise data_error(ctx, OP, f"invalid pattern {preview(pattern)}: {exc}") from None


def _whole(match: Any) -> str:
    return match.group()


def _found(pattern: Any) -> Callable[[Any], Any]:
    if pattern.groups == 1:
        return lambda match: match.group(1)
    if pattern.groups:
        return lambda match: list(match.groups())
    return _whole


def _shape(pattern: Any) -> Callable[[Any], Any]:
    if pattern.groupindex:
        names = list(pattern.groupindex)
        return lambda match: {name: match.group(name) for name in names}
    if pattern.groups:
        return lambda match: list(match.groups())
    return lambda match: match.group()


SPEC = OpSpec(
    OP,
    doc="Regular-expression matches in a string, time-bounded.",
    fields={
        "inputPath": in_path(),
        "pattern": req("string"),
        "flags": opt("array", item_kinds=("string",), choices=tuple(FLAGS)),
        "all": opt("boolean"),
        "extractAll": opt("boolean"),
        "outputPath": out_path(),
    },
    run=run,
    rules=(one_spelling("all", "extractAll"),),
    spellings={"all": "extractAll"},
)
