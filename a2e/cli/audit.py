"""``a2e audit verify|anchor|prune|export``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any, TextIO

import click

from a2e.audit import Sealer, anchor_of, chain_key
from a2e.audit import prune as prune_events
from a2e.audit import verify as verify_chain
from a2e.audit.seal import ChainKeyMismatch
from a2e.audit.export import FORMATS, iter_rows, render
from a2e.audit.filters import parse_instant
from a2e.cli.common import database, emit, session_scope, settings
from a2e.config import Settings
from a2e.secret import load_secret_key
from a2e.store.session import Database
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
    """Verify, anchor, prune and export the keyed, chained audit trail."""


def _sealed(db: Database, key: bytes) -> None:
    """Chain every pending event first, so what follows covers every event written."""
    try:
        Sealer(db, key).seal_pending(wait=True)
    except ChainKeyMismatch as exc:
        click.echo(f"Warning: {exc}", err=True)


def _key(config: Settings) -> bytes:
    return chain_key(load_secret_key(config))


@audit_group.command("verify")
@click.option("--anchor", "anchor_file", type=click.File("r", encoding="utf-8"), default=None,
              help="An anchor printed by `a2e audit anchor`: also fail when its event is "
                   "gone or changed (catches a cut tail).")
def verify(anchor_file: TextIO | None) -> None:
    """Seal pending events, then walk the chain under this server's secret key.

    Prints {"ok", "checked", "broken_id", "reason"} and exits 1 at the first broken row,
    when a row is left unsealed, or when the anchored event is gone or changed. Another
    secret key than the one that sealed the chain reports it broken.
    """
    anchor = _read_anchor(anchor_file) if anchor_file is not None else None
    config = settings()
    key = _key(config)
    db = database(config)
    try:
        _sealed(db, key)
        report = verify_chain(db, key, anchor=anchor)
    finally:
        db.dispose()
    emit(report.to_dict())
    if not report.ok:
        click.echo(f"Error: audit row {report.broken_id} breaks the chain: {report.reason}", err=True)
        sys.exit(1)


@audit_group.command("anchor")
def anchor() -> None:
    """Seal pending events and print the chain head as {"id", "hash", "ts"}.

    Keep the output outside the database; `a2e audit verify --anchor FILE` later fails
    if that event was removed (rows cut from the end of the chain) or changed.
    """
    config = settings()
    key = _key(config)
    db = database(config)
    try:
        _sealed(db, key)
        head = anchor_of(db)
    finally:
        db.dispose()
    if head is None:
        raise click.ClickException("the audit trail is empty: nothing to anchor")
    emit(head)


def _read_anchor(handle: TextIO) -> dict[str, Any]:
    try:
        value = json.loads(handle.read())
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--anchor") from None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("id"), int)
        or not isinstance(value.get("hash"), str)
        or not isinstance(value.get("ts"), str)
    ):
        raise click.BadParameter('expected {"id": <int>, "hash": "<hex>", "ts": "<time>"}',
                                 param_hint="--anchor")
    return value


@audit_group.command("prune")
@click.option(
    "--days", type=click.IntRange(min=1), default=None,
    help="Keep this many days (default: audit.retention_days from the configuration).",
)
def prune(days: int | None) -> None:
    """Seal pending events, then delete those older than the retention, leaving a
    checkpoint row so verify still passes.

    The newest event is always kept. An anchor of a pruned event no longer verifies:
    take a new one (`a2e audit anchor`) after pruning. Prints {"pruned", "checkpoint_id", "cutoff"}.
    """
    config = settings()
    db = database(config)
    try:
        _sealed(db, _key(config))
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
