"""The engine's ports implemented in SQL. Each call is its own short transaction of one
statement (Core, not the ORM: these run several times per request)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from a2e.engine.ports import DuplicateExecution, RunFinish, RunStart, StepRecord
from a2e.store.base import utcnow
from a2e.store.models import StoredValue
from a2e.store.owner import current_owner
from a2e.store.queries import runs as run_queries
from a2e.store.session import Database


class SqlRunRecorder:
    """Commits the run row before the first step, each step as it ends, the outcome last."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start_run(self, start: RunStart) -> int:
        saved = start.saved_workflow
        try:
            with self.db.connection(write=True, single_statement=True) as conn:
                return run_queries.create_run(
                    conn,
                    agent_id=int(start.agent_id),
                    execution_id=start.execution_id,
                    owner=current_owner(),
                    started_at=start.started_at,
                    workflow_text=start.workflow_text,
                    saved_workflow_name=saved.name if saved else None,
                    saved_workflow_version=saved.version if saved else None,
                )
        except IntegrityError:
            with self.db.session() as session:
                existing = run_queries.read_run_by_execution_id(
                    session, int(start.agent_id), start.execution_id
                )
            if existing is None:
                raise
            raise DuplicateExecution(existing.id, start.execution_id) from None

    def record_step(self, run_id: int, step: StepRecord) -> None:
        with self.db.connection(write=True, single_statement=True) as conn:
            run_queries.create_step(
                conn,
                run_id,
                position=step.position,
                operation_id=step.op_id,
                op_type=step.op_type,
                iteration=step.iteration,
                status=step.status,
                attempts=step.attempts,
                started_at=step.started_at,
                finished_at=step.finished_at,
                duration_ms=step.duration_ms,
                result=step.result,
                error=step.error,
                cached=step.cached,
                cached_at=step.cached_at,
            )

    def finish_run(self, run_id: int, finish: RunFinish) -> None:
        with self.db.connection(write=True, single_statement=True) as conn:
            run_queries.update_run_status(
                conn,
                run_id,
                status=finish.status,
                finished_at=finish.finished_at,
                duration_ms=finish.duration_ms,
                error=finish.error,
            )


class SqlValueStore:
    """StoreData values per agent (``storage`` ``db``), upserted in one statement."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, agent_id: Any, storage: str, key: str, value: Any) -> None:
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        now = utcnow()
        statement = insert(StoredValue).values(
            agent_id=int(agent_id), key=key, storage=storage, value=value,
            created_at=now, updated_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[StoredValue.agent_id, StoredValue.key],
            set_={"value": statement.excluded.value, "storage": storage, "updated_at": now},
        )
        with self.db.connection(write=True, single_statement=True) as conn:
            conn.execute(statement)

    def get(self, agent_id: Any, key: str) -> Any:
        with self.db.connection(single_statement=True) as conn:
            row = conn.execute(
                select(StoredValue.value).where(
                    StoredValue.agent_id == int(agent_id), StoredValue.key == key
                )
            ).first()
        if row is None:
            raise KeyError(key)
        return row.value
