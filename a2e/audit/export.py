"""Exports of filtered events: rows as dicts, rendered as CSV, JSON Lines or JSON.

Rows come in insert order (ascending id; the chain order ``seq`` follows it but for
events whose transactions committed out of id order, see :mod:`a2e.audit.seal`), read a page at a time, each page in its
own short read transaction, so a long export holds no lock and little memory.
Agents are named by name (``agent``) as well as by id.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from a2e.audit.chain import timestamp
from a2e.store.models import AuditEvent
from a2e.store.queries import audit as queries
from a2e.store.queries.audit import AuditFilter
from a2e.store.session import Database

COLUMNS = (
    "id", "seq", "ts", "actor", "agent_id", "agent", "action", "target", "outcome",
    "request_id", "client_ip", "details", "prev_hash", "hash",
)
FORMATS = ("csv", "jsonl", "json")
MEDIA_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "json": "application/json"}
PAGE = 500


def describe(event: AuditEvent, agent_name: str | None) -> dict[str, Any]:
    """One event as plain JSON values, in :data:`COLUMNS` order."""
    return {
        "id": event.id,
        "seq": event.seq,
        "ts": timestamp(event.ts),
        "actor": event.actor,
        "agent_id": event.agent_id,
        "agent": agent_name,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "client_ip": event.client_ip,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def iter_rows(db: Database, where: AuditFilter, *, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every event matching ``where`` (at most ``limit``), oldest first."""
    after: int | None = None
    remaining = limit
    while remaining is None or remaining > 0:
        size = PAGE if remaining is None else min(PAGE, remaining)
        with db.session() as session:
            page = queries.read_events(session, where, limit=size, after_id=after)
            rows = [describe(event, name) for event, name in page]
        yield from rows
        if len(rows) < size:
            return
        after = rows[-1]["id"]
        if remaining is not None:
            remaining -= len(rows)


def render(rows: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """``rows`` as text chunks in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "csv":
        yield from _csv(rows)
    elif fmt == "jsonl":
        for row in rows:
            yield json.dumps(row, separators=(",", ":")) + "\n"
    elif fmt == "json":
        yield "["
        for index, row in enumerate(rows):
            yield ("," if index else "") + json.dumps(row, separators=(",", ":"))
        yield "]\n"
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def _csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(dict(row, details=json.dumps(row["details"], separators=(",", ":"))))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()
