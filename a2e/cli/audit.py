"""``a2e audit verify|prune|export``."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, TextIO

import click

from a2e.audit import prune as prune_events
from a2e.audit import verify as verify_chain
from a2e.audit.export import FORMATS, iter_rows, render
from a2e.audit.filters import parse_instant
from a2e.cli.common import database, emit, session_scope, settings
from a2e.store.queries import agents as agent_queries
from a2e.store.queries.audit import AuditFilter


class InstantType(click.ParamType):
    """An ISO 8601 date or date-time, UTC unless it carries an offset."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_instant(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


INSTANT = InstantType()


@click.group("audit")
def audit_group() -> None:
    """Verify, prune and export the hash-chained audit trail."""


@audit_group.command("verify")
def verify() -> None:
    """Walk the chain; print {"ok", "checked", "broken_id", "reason"}, exit 1 at the first broken row."""
    db = database()
    try:
        report = verify_chain(db)
    finally:
        db.dispose()
    emit(report.to_dict())
    if not report.ok:
        click.echo(f"Error: audit row {report.broken_id} breaks the chain: {report.reason}", err=True)
        sys.exit(1)


@audit_group.command("prune")
@click.option(
    "--days", type=click.IntRange(min=1), default=None,
    help="Keep this many days (default: audit.retention_days from the configuration).",
)
def prune(days: int | None) -> None:
    """Delete events older than the retention, leaving a checkpoint row so verify still passes.

    The newest event is always kept. Prints {"pruned", "checkpoint_id", "cutoff"}.
    """
    config = settings()
    db = database(config)
    try:
        report = prune_events(db, days or config.audit["retention_days"])
    finally:
        db.dispose()
    emit(report.to_dict())


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--agent", help="Agent name or id.")
@click.option("--action", help="Action name, e.g. agent.created.")
@click.option("--outcome", help="Outcome, e.g. success or failure.")
@click.option("--since", type=INSTANT, help="From this date or date-time (inclusive, UTC).")
@click.option("--until", type=INSTANT, help="Before this date or date-time (exclusive, UTC).")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="Write to this file instead of standard output.")
def export(
    fmt: str, agent: str | None, action: str | None, outcome: str | None,
    since: datetime | None, until: datetime | None, output: TextIO,
) -> None:
    """Write every event matching the filters, oldest first, as CSV, JSON Lines or JSON."""
    where = AuditFilter(
        agent_id=_agent_id(agent) if agent else None,
        action=action, outcome=outcome, since=since, until=until,
    )
    db = database()
    try:
        for chunk in render(iter_rows(db, where), fmt):
            output.write(chunk)
    finally:
        db.dispose()


def _agent_id(ref: str) -> int:
    """By name or id; an id is accepted even once the agent is gone."""
    with session_scope() as session:
        return agent_queries.read_agent_id(session, ref)


def register(cli: click.Group) -> None:
    cli.add_command(audit_group)
