"""``a2e runs list|show|prune``: read runs and their steps; retention."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import click
from sqlalchemy.orm import Session

from a2e.api.executions.resources import detail
from a2e.cli.audit import INSTANT
from a2e.cli.common import database, emit, session_scope, settings
from a2e.cli.report import render_table
from a2e.store.base import MAX_ID, utcnow
from a2e.store.models import Run
from a2e.store.models.runs import RUN_STATUSES
from a2e.store.queries import agents as agent_queries
from a2e.store.queries import runs as queries
from a2e.store.queries.cache import agents_by_id
from a2e.store.queries.runs import delete_finished_runs
from a2e.store.rollup import roll

LIST_COLUMNS = ("run_id", "execution_id", "agent", "status", "started_at", "duration_ms")


@click.group("runs")
def runs_group() -> None:
    """Runs and their steps."""


@runs_group.command("list")
@click.option("--agent", metavar="NAME", help="Only this agent's runs (name or id).")
@click.option("--status", type=click.Choice(RUN_STATUSES), help="Only runs with this status.")
@click.option("--since", type=INSTANT, help="Only runs started from this date or date-time on (UTC).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="At most this many runs, newest first.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
def list_runs(agent: str | None, status: str | None, since: datetime | None, limit: int,
              fmt: str) -> None:
    """Runs newest first: run id, execution id, agent, status, start (UTC) and duration (ms)."""
    with session_scope() as session:
        agent_id = agent_queries.read_agent(session, agent).id if agent else None
        runs = queries.read_runs(session, limit=limit, agent_id=agent_id, status=status,
                                 since=since)
        names = agents_by_id(session, {run.agent_id for run in runs})
        rows = [dict(zip(LIST_COLUMNS, (
            run.id, run.execution_id, names.get(run.agent_id), run.status,
            run.started_at.isoformat(), run.duration_ms))) for run in runs]
    if fmt == "json":
        click.echo(json.dumps(rows))
    else:
        click.echo(render_table(rows) if rows else "(no runs)")


@runs_group.command("show")
@click.argument("ref", metavar="RUN_ID|EXECUTION_ID")
@click.option("--agent", metavar="NAME",
              help="Read REF as this agent's execution id (needed when several agents used it).")
def show(ref: str, agent: str | None) -> None:
    """One run as JSON: its status, error, and every step with its attempts.

    Without --agent, a number is a run id when such a run exists; otherwise REF is an
    execution id, which must then belong to a single agent.
    """
    with session_scope() as session:
        run = _find_run(session, ref, agent)
        shown = detail(session, run)
        shown["agent"] = agents_by_id(session, [run.agent_id]).get(run.agent_id)
    for name in ("started_at", "completed_at"):
        if isinstance(shown[name], datetime):
            shown[name] = shown[name].isoformat()
    emit(shown)


def _find_run(session: Session, ref: str, agent: str | None) -> Run:
    if agent is not None:
        agent_id = agent_queries.read_agent(session, agent).id
        run = queries.read_run_by_execution_id(session, agent_id, ref)
        if run is None:
            raise click.ClickException(f"agent {agent!r} has no execution {ref!r}")
        return run
    if ref.isdigit() and int(ref) <= MAX_ID:
        run = queries.read_run(session, int(ref))
        if run is not None:
            return run
    matches = queries.read_runs_by_execution_id(session, ref)
    if not matches:
        raise click.ClickException(f"no run or execution {ref!r}")
    if len(matches) > 1:
        raise click.ClickException(
            f"several agents have an execution {ref!r}; name one with --agent")
    return matches[0]


@runs_group.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Keep runs younger than this (default: runs.retention_days, 90).")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Runs deleted per transaction, so requests are never blocked for long.")
def prune(days: int | None, batch: int) -> None:
    """Delete finished runs (and their steps) older than the retention period.

    The runs finished before now minus metrics.roll_grace_s are rolled up first (as
    `a2e metrics roll`), so the dashboard's and /metrics' counts keep the pruned runs."""
    config = settings()
    now = utcnow()
    cutoff = now - timedelta(days=days or config.runs["retention_days"])
    db = database(config)
    deleted = 0
    try:
        roll(db, now - timedelta(seconds=config.metrics["roll_grace_s"]))
        while True:
            with db.session(write=True) as session:
                count = delete_finished_runs(session, cutoff, batch)
            deleted += count
            if count < batch:
                break
    finally:
        db.dispose()
    emit({"deleted_runs": deleted, "before": cutoff.isoformat()})


def register(cli: click.Group) -> None:
    cli.add_command(runs_group)
