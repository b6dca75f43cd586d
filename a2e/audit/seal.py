"""The sealer: gives unsealed events their chain position and keyed hash, off the request path.

Writers insert events unsealed, in the transaction of the change they record, and take
no lock. A sealer chains them in batches: in one write transaction it takes the
sealer lock (``try_lock_sealer``: PostgreSQL's advisory try-lock, which only sealers
take; SQLite's write lock), reads the head and the oldest unsealed rows (by ``id``), and
gives each the next ``seq``, the head's hash as ``prev_hash`` and its HMAC (see
:mod:`a2e.audit.chain`). The unique index on ``seq`` makes a fork impossible even if
two sealers raced.

Chain order is ``seq``. ``id`` is the insert order; ids are sealed in ascending order,
so ``seq`` follows ``id`` except for an event whose transaction commits after the
sealer already chained a later-numbered one (possible on PostgreSQL, where
transactions commit concurrently; never on SQLite, where writers are serialized): it
gets the next ``seq`` when it becomes visible.

A sealer refuses to extend a chain whose head does not verify under its key (a server
or CLI started with another secret must not seal new events with it), and says so.

Every server process runs a :class:`BackgroundSealer` that seals about once a second
while events are being written, and seals what is pending when the process stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from a2e.audit import actions
from a2e.audit.chain import GENESIS, HASHED_FIELDS, chain_hash
from a2e.store.queries import audit as queries
from a2e.store.session import Database

log = logging.getLogger("a2e.audit")
#: Events chained per transaction.
BATCH = 1000
#: Seconds between two seals while events are being written.
SEAL_INTERVAL_S = 1.0
#: Seconds between two seals when this process wrote nothing (events of other writers,
#: such as the ``a2e`` command line, are sealed at least this often).
IDLE_SEAL_INTERVAL_S = 30.0


class ChainKeyMismatch(RuntimeError):
    """The chain head does not verify under this key: sealing would fork trust."""


def row_of(event: Any, **overrides: Any) -> dict[str, Any]:
    """The hashed fields of ``event`` (a row or model), with ``overrides`` applied."""
    return {name: overrides.get(name, getattr(event, name)) for name in HASHED_FIELDS}


def head_verifies(key: bytes, head: Any) -> bool:
    """Whether the head's hash is the HMAC of its row under ``key`` (a prune's checkpoint
    carries the hash of the row it replaced, so it is taken as it is)."""
    if head.action == actions.CHECKPOINT:
        return True
    return bool(head.prev_hash) and chain_hash(key, head.prev_hash, row_of(head)) == head.hash


class Sealer:
    """Chains pending events under one key."""

    def __init__(self, db: Database, key: bytes, *, batch: int = BATCH) -> None:
        self.db = db
        self.key = key
        self.batch = batch

    def seal_pending(self, *, wait: bool = False) -> int:
        """Chain every event pending now; the number chained.

        ``wait=False`` gives up at once when another sealer is at work (it will chain
        them); ``wait=True`` retries until none is pending (for verify, anchor, exit).
        """
        total = 0
        while True:
            sealed, locked = self._seal_batch()
            total += sealed
            if locked and sealed < self.batch:
                return total
            if not locked and not wait:
                return total
            if not locked:
                threading.Event().wait(0.05)

    def _seal_batch(self) -> tuple[int, bool]:
        """One batch in one transaction on the driver's connection; on PostgreSQL its
        seals travel with the ``COMMIT``."""
        with self.db.driver_transaction() as tx:
            if not queries.try_lock_sealer(tx):
                return 0, False
            pending = queries.read_pending(tx, self.batch)
            if not pending:
                return 0, True
            head = queries.read_head(tx)
            if head is not None and not head_verifies(self.key, head):
                raise ChainKeyMismatch(
                    f"audit event {head.id} (the chain head) does not verify under this "
                    "server's secret key; events are left unsealed"
                )
            seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
            sealed: list[Mapping[str, Any]] = []
            for event in pending:
                seq += 1
                digest = chain_hash(self.key, prev_hash, row_of(event, seq=seq))
                sealed.append({"id": event.id, "seq": seq, "prev_hash": prev_hash, "hash": digest})
                prev_hash = digest
            queries.seal_rows(tx.tail, sealed)
            return len(sealed), True


class BackgroundSealer:
    """A daemon thread sealing about once a second while ``dirty()`` says events were
    written (and every :data:`IDLE_SEAL_INTERVAL_S` regardless); :meth:`stop` seals
    what is pending before it returns."""

    def __init__(
        self, sealer: Sealer, dirty: Callable[[], bool], *,
        interval_s: float = SEAL_INTERVAL_S, idle_interval_s: float = IDLE_SEAL_INTERVAL_S,
    ) -> None:
        self.sealer = sealer
        self.dirty = dirty
        self.interval_s = interval_s
        self.idle_interval_s = idle_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="a2e-sealer", daemon=True)
                self._thread.start()

    def stop(self) -> int:
        """Stop the thread and seal everything pending; the number sealed at the end."""
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        return self._seal(wait=True)

    def _loop(self) -> None:
        idle, busy = 0.0, False
        while not self._stop.wait(self.interval_s):
            idle += self.interval_s
            if self.dirty() or busy or idle >= self.idle_interval_s:
                idle = 0.0
                busy = self._seal(wait=False) > 0

    def _seal(self, *, wait: bool) -> int:
        try:
            return self.sealer.seal_pending(wait=wait)
        except Exception as exc:  # noqa: BLE001 - the thread must outlive a bad round
            log.error("audit sealing failed: %s: %s", type(exc).__name__, exc)
            return 0
