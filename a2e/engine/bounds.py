"""What a run may hold: ``max_value_bytes`` per value, ``max_run_bytes`` in all, ``max_steps``.

Each operation's output is measured as it is written, before the next step runs, with
:func:`json_size`: the length of the value's compact JSON text (ASCII, as the run record
stores it; non-ASCII characters count as their ``\\uXXXX`` escapes). A run's bytes are the sizes of every value
its steps wrote plus :data:`STEP_RECORD_BYTES` per step record, so the execute response's
``results`` and the run record's step results each stay within ``max_run_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from a2e.errors import ExecutionError
from a2e.protocol.json_text import make_encoder
from a2e.protocol.model import ExecutionLimits

#: What one step record (ids, status, timings, attempts) is counted as, besides its result.
STEP_RECORD_BYTES = 256
_SCALAR_BYTES = {type(None): 4, bool: 5, int: 8, float: 12}


#: Compact JSON, anything else as its ``str()``.
_COMPACT = make_encoder(separators=(",", ":"), default=str)


def json_size(value: Any) -> int:
    """The length of ``value`` as compact JSON (the C encoder: a transient copy of the text,
    cheaper than walking the value in Python); values nested too deeply for it are walked."""
    try:
        return len(_COMPACT(value))
    except (RecursionError, ValueError):
        return _walked_size(value)


def _walked_size(value: Any) -> int:
    """The approximate size of ``value`` as compact JSON (UTF-8), without serialising it."""
    size = 0
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            size += 2 + (len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass")))
        elif kind is dict:
            size += 1 + 2 * len(item)  # braces, colons and commas
            stack.extend(item.keys())
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            size += 1 + len(item)
            stack.extend(item)
        else:
            size += _SCALAR_BYTES.get(kind, 24)
    return size


def _too_much(setting: str, message: str, limit: int, **details: Any) -> ExecutionError:
    return ExecutionError(
        f"{message} (execution.{setting} is {limit:,})",
        details={"setting": f"execution.{setting}", "limit": limit, **details},
        suggestions=[f"Raise execution.{setting} in the server's config file (A2E_CONFIG), "
                     "or make the workflow hold less"],
    )


@dataclass
class RunBudget:
    """The bytes and step records one run has used so far."""

    limits: ExecutionLimits
    run_bytes: int = 0
    steps: int = 0

    def admit_step(self) -> None:
        """Count one step record; ExecutionError naming ``max_steps`` beyond the limit."""
        if self.steps >= self.limits.max_steps:
            raise _too_much("max_steps", f"The run reached {self.limits.max_steps:,} steps",
                            self.limits.max_steps)
        self.steps += 1
        self.run_bytes += STEP_RECORD_BYTES

    def charge(self, value: Any) -> None:
        """Count a value a step writes; ExecutionError naming the bound it would pass."""
        size = json_size(value)
        limit = self.limits.max_value_bytes
        if size > limit:
            raise _too_much("max_value_bytes", f"The operation's output is about {size:,} bytes",
                            limit, size=size)
        limit = self.limits.max_run_bytes
        if self.run_bytes + size > limit:
            raise _too_much("max_run_bytes",
                            f"The run would hold about {self.run_bytes + size:,} bytes", limit,
                            size=self.run_bytes + size)
        self.run_bytes += size
