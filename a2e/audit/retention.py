"""Retention: delete events older than ``audit.retention_days`` and leave a checkpoint.

Only sealed events are pruned, by chain position (``seq``). The checkpoint takes the
id, ``seq``, timestamp, ``prev_hash`` and ``hash`` of the last row it replaces, so the
next row still links to it and ``verify`` passes; its details say what was pruned.
The newest sealed row is never pruned, so the chain head (what the sealer reads) is
untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from a2e.audit import actions
from a2e.audit.chain import timestamp
from a2e.store.base import utcnow
from a2e.store.queries import audit as queries
from a2e.store.session import Database


@dataclass(frozen=True)
class PruneReport:
    pruned: int
    checkpoint_id: int | None
    cutoff: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"pruned": self.pruned, "checkpoint_id": self.checkpoint_id,
                "cutoff": timestamp(self.cutoff)}


def prune(
    db: Database, retention_days: int, *, now: datetime | None = None, actor: str = "cli"
) -> PruneReport:
    """Delete events older than ``retention_days`` (all but the newest) in one transaction."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    with db.session(write=True) as session:
        first = queries.read_first(session)
        head = queries.read_head(session)
        last_old = queries.read_last_seq_before(session, cutoff)
        if first is None or head is None or last_old is None:
            return PruneReport(pruned=0, checkpoint_id=None, cutoff=cutoff)
        last_seq = min(last_old, head.seq - 1)
        had_checkpoint = first.action == actions.CHECKPOINT
        if last_seq < first.seq or (had_checkpoint and last_seq == first.seq):
            return PruneReport(pruned=0, checkpoint_id=None, cutoff=cutoff)
        replaced = queries.read_by_seq(session, last_seq)
        assert replaced is not None  # seq is contiguous from the first row to the head
        carried = {"id": replaced.id, "seq": replaced.seq, "ts": replaced.ts,
                   "prev_hash": replaced.prev_hash, "hash": replaced.hash}
        before_total = int(first.details.get("pruned_total", 0)) if had_checkpoint else 0
        deleted = queries.purge_through(session, last_seq) - (1 if had_checkpoint else 0)
        queries.insert_event(session, dict(
            **carried,
            actor=actor,
            agent_id=None,
            action=actions.CHECKPOINT,
            target=None,
            outcome=actions.SUCCESS,
            request_id=None,
            client_ip=None,
            details={
                "replaces_id": replaced.id,
                "pruned": deleted,
                "pruned_total": before_total + deleted,
                "pruned_before": timestamp(cutoff),
                "pruned_at": timestamp(now),
            },
        ))
    return PruneReport(pruned=deleted, checkpoint_id=replaced.id, cutoff=cutoff)
