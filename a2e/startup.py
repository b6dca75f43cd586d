"""What ``a2e serve`` does once, before it serves."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from a2e.audit import AuditLog, actions
from a2e.config import Settings
from a2e.logs import configure_logging
from a2e.secret import load_secret_key
from a2e.store.base import utcnow
from a2e.store.owner import current_owner, pid_alive
from a2e.store.queries.runs import mark_interrupted
from a2e.store.session import Database

log = logging.getLogger("a2e.startup")


def recover_interrupted_runs(db: Database, audit: AuditLog) -> list[int]:
    """Mark this host's orphaned runs ``interrupted``, each with its audit event, in one
    transaction."""
    with db.session(write=True) as session:
        runs = mark_interrupted(session, current_owner(), utcnow(), pid_alive)
        for run in runs:
            audit.add(session, action=actions.RUN_INTERRUPTED, outcome=actions.FAILURE,
                      actor="server", agent_id=run.agent_id, target=f"run:{run.id}",
                      request_id=None, client_ip=None,
                      details={"execution_id": run.execution_id, "reason": run.error["message"]})
    ids = [run.id for run in runs]
    if ids:
        log.warning("marked %d run(s) interrupted: %s", len(ids), ids)
    return ids


def prepare_to_serve(settings: Settings) -> None:
    """Logging, the secret key, and interrupted runs; the database may be down."""
    configure_logging(settings.log_dir)
    load_secret_key(settings)
    db = Database.from_url(settings.database_url, pool_size=1)
    try:
        recover_interrupted_runs(db, AuditLog(db, enabled=settings.audit["enabled"]))
    except SQLAlchemyError as exc:
        log.warning(
            "could not check for interrupted runs (%s: %s); serving anyway, with 503 "
            "while the database is unavailable", type(exc).__name__, str(getattr(exc, "orig", exc))[:200],
        )
    finally:
        db.dispose()
