"""The ``audit`` service: writes events unsealed, with no lock, for the sealer to chain.

:meth:`AuditLog.add` inserts the event of a change in that change's transaction (the
caller's session or Core connection), so that both commit or neither does;
:meth:`AuditLog.row` builds the row alone (details scrubbed and normalized, the time
set) for a caller that inserts it with others (the run recorder);
:meth:`AuditLog.append` inserts an event that records no change (an authentication
failure, a refusal) in a short transaction of its own. :func:`record_cli_event` is
the command line's :meth:`~AuditLog.add`. Either way the row is chained later by
:mod:`a2e.audit.seal`.

An event appended on its own that cannot be written is logged at ERROR (action and
request id) and the caller goes on: it records nothing that could be lost with it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from a2e.audit import actions
from a2e.config import Settings
from a2e.store.base import utcnow
from a2e.store.queries import audit as queries
from a2e.store.queries.audit import Executor
from a2e.store.session import Database

log = logging.getLogger("a2e.audit")

#: Detail keys whose values are replaced by ``[redacted]`` wherever they appear.
REDACTED_KEYS = frozenset(
    {"api_key", "apikey", "authorization", "password", "secret", "token", "credential_value"}
)
REDACTED = "[redacted]"
#: Repeats of these actions from one client address are recorded at most once a window.
THROTTLED_ACTIONS = frozenset({actions.AUTH_FAILED})
THROTTLE_WINDOW = timedelta(minutes=1)
#: Throttle entries kept per process before idle ones are forgotten.
MAX_THROTTLE_ENTRIES = 10_000


def scrub(value: Any) -> Any:
    """``value`` with every :data:`REDACTED_KEYS` entry masked, at any depth."""
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in REDACTED_KEYS else scrub(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    return value


#: Values that are already what their JSON reads back as.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def plain_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as plain JSON values, masked as :func:`scrub` masks them, so that what is
    hashed is what reads back. What is plain already is copied; the rest (a mapping with a
    key that is not a ``str``, a value of another type) goes through JSON and back, a
    value JSON has no type for as its ``str()``."""
    return _plain(dict(details))


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        if all(type(key) is str for key in value):
            return {key: REDACTED if key.lower() in REDACTED_KEYS else _plain(item)
                    for key, item in value.items()}
    elif kind is list or kind is tuple:
        return [_plain(item) for item in value]
    elif kind in _PLAIN:
        return value
    return json.loads(json.dumps(scrub(value), default=str))


@dataclass
class _Pending:
    """Failures from one address not yet written, and when the trail was last consulted."""

    count: int = 0
    checked_at: datetime | None = None


class AuditLog:
    """The sink ``a2e.api.events.record_event`` hands events to."""

    def __init__(
        self, db: Database, *, enabled: bool = True, now: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.enabled = enabled
        self._now = now
        self._pending: dict[str | None, _Pending] = {}
        self._lock = threading.Lock()
        self._written = False

    def take_written(self) -> bool:
        """Whether rows were made since the last call (the background sealer asks)."""
        written, self._written = self._written, False
        return written

    def row(
        self,
        *,
        action: str,
        outcome: str,
        actor: str | None,
        agent_id: int | None,
        target: str | None,
        request_id: str | None,
        client_ip: str | None,
        details: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """The unsealed row of one event, for the caller's own transaction (None: disabled)."""
        if not self.enabled:
            return None
        self._written = True
        return _row(self._now(), action=action, outcome=outcome, actor=actor, agent_id=agent_id,
                    target=target, request_id=request_id, client_ip=client_ip, details=details)

    def add(self, conn: Executor, **event: Any) -> None:
        """Insert the event of a change (the fields :meth:`row` takes) in the change's
        transaction (never committed here); a failed insert fails that transaction."""
        row = self.row(**event)
        if row is not None:
            queries.insert_event(conn, row)

    def append(self, **event: Any) -> None:
        """Insert an event that records no change (the fields :meth:`row` takes), in a
        transaction of its own."""
        row = self.row(**event)
        if row is None:
            return
        try:
            if row["action"] in THROTTLED_ACTIONS:
                self._append_throttled(row)
            else:
                with self.db.connection(write=True, single_statement=True) as conn:
                    queries.insert_event(conn, row)
        except SQLAlchemyError as exc:
            log.error(
                "audit event %s not written: %s", row["action"], type(exc).__name__,
                extra={"request_id": row["request_id"]},
            )

    def _append_throttled(self, fields: dict[str, Any]) -> None:
        """Record the first failure from an address, then at most one per window with a count.

        ``details.count`` is the number of failures this process saw from the address
        since it last wrote one; another process's recent event also holds ours back.
        """
        address = fields["client_ip"]
        now = self._now()
        with self._lock:
            pending = self._pending.setdefault(address, _Pending())
            pending.count += 1
            if pending.checked_at is not None and now - pending.checked_at < THROTTLE_WINDOW:
                return
            pending.checked_at = now
            count = pending.count
            self._forget_idle(now)
        with self.db.session(write=True) as session:
            queries.lock_throttle(session, address)
            last = queries.read_last_ts(session, fields["action"], address)
            if last is not None and now - last < THROTTLE_WINDOW:
                return
            queries.insert_event(session, dict(fields, details={**fields["details"], "count": count}))
        with self._lock:
            pending.count -= count

    def _forget_idle(self, now: datetime) -> None:
        if len(self._pending) <= MAX_THROTTLE_ENTRIES:
            return
        for address, entry in list(self._pending.items()):
            if entry.checked_at is None or now - entry.checked_at >= THROTTLE_WINDOW:
                del self._pending[address]


def _row(ts: datetime, *, details: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    return {"ts": ts, **fields, "details": plain_details(details)}


def record_cli_event(
    conn: Executor,
    settings: Settings,
    action: str,
    *,
    outcome: str = actions.SUCCESS,
    agent_id: int | None = None,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Insert an event made by the ``a2e`` command line (actor ``cli``) in the transaction
    of the change it records (``conn``: its session; never committed here)."""
    if settings.audit["enabled"]:
        queries.insert_event(conn, _row(
            utcnow(), action=action, outcome=outcome, actor="cli", agent_id=agent_id,
            target=target, request_id=None, client_ip=None, details=details or {},
        ))
