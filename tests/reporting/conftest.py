"""Seed data for the reporting tests: two agents, runs over two days, usage and cache counters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from a2e.audit import AuditLog
from a2e.store.models import CacheStats, Run, UsageWindow

DAY1 = datetime(2026, 3, 1, tzinfo=timezone.utc)
DAY2 = DAY1 + timedelta(days=1)
#: (agent, saved workflow, status, start, duration ms)
RUNS = [
    ("alpha", None, "succeeded", DAY1 + timedelta(hours=1), 100),
    ("alpha", None, "failed", DAY1 + timedelta(hours=2), 300),
    ("alpha", None, "succeeded", DAY1 + timedelta(hours=23, minutes=59), 200),
    ("alpha", "nightly", "succeeded", DAY2 + timedelta(hours=1), 1000),
    ("alpha", "nightly", "interrupted", DAY2 + timedelta(hours=2), 50),
    ("beta", None, "succeeded", DAY2 + timedelta(hours=3), 40),
    ("beta", None, "running", DAY2 + timedelta(hours=4), None),
]


@pytest.fixture
def seeded(db, make_agent):
    agents = {name: make_agent(name).agent_id for name in ("alpha", "beta")}
    with db.session(write=True) as session:
        for n, (agent, workflow, status, start, duration) in enumerate(RUNS):
            session.add(Run(
                agent_id=agents[agent], execution_id=f"e{n}", status=status, owner_host="h",
                owner_pid=1, owner_boot_id="b", started_at=start,
                finished_at=None if duration is None else start + timedelta(milliseconds=duration),
                duration_ms=duration, saved_workflow_name=workflow,
                saved_workflow_version=1 if workflow else None,
            ))
        for kind, period, start, admitted, rejected in [
            ("requests", "hour", DAY1, 50, 0),
            ("requests", "hour", DAY1 + timedelta(hours=5), 10, 0),
            ("requests", "minute", DAY1 + timedelta(hours=5), 10, 4),
            ("requests", "day", DAY1, 60, 1),
            ("api_calls", "hour", DAY1, 7, 2),
            ("requests", "hour", DAY2, 3, 0),
        ]:
            session.add(UsageWindow(agent_id=agents["alpha"], kind=kind, period=period,
                                    window_start=start, admitted=admitted, rejected=rejected,
                                    quota=100))
        for agent, op_type, hits, misses, evictions in [
            ("alpha", "ApiCall", 3, 1, 2), ("beta", "ApiCall", 1, 3, 0), ("alpha", "FilterData", 0, 0, 0),
        ]:
            session.add(CacheStats(agent_id=agents[agent], op_type=op_type, hits=hits, misses=misses,
                                   writes=misses, evictions=evictions, expirations=0,
                                   invalidations=0, updated_at=DAY2))
    return agents


def view(db, name: str, order: str) -> list[dict]:
    with db.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(f"SELECT * FROM {name} ORDER BY {order}"))]


@pytest.fixture
def append_audit(db, seeded):
    """A few audit events: a management change and an authentication failure."""
    log = AuditLog(db)
    for action, outcome, agent in (("agent.created", "success", "alpha"), ("auth.failed", "failure", None)):
        log.append(action=action, outcome=outcome, actor="cli" if agent else None,
                   agent_id=seeded[agent] if agent else None, target=agent, request_id=None,
                   client_ip=None if agent else "127.0.0.1", details={})
