"""``a2e runs prune``: retention for runs and their steps."""

from __future__ import annotations

from datetime import timedelta

import click

from a2e.cli.common import database, emit, settings
from a2e.store.base import utcnow
from a2e.store.queries.runs import delete_finished_runs


@click.group("runs")
def runs_group() -> None:
    """Runs and their steps."""


@runs_group.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Keep runs younger than this (default: runs.retention_days, 90).")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Runs deleted per transaction, so requests are never blocked for long.")
def prune(days: int | None, batch: int) -> None:
    """Delete finished runs (and their steps) older than the retention period."""
    config = settings()
    cutoff = utcnow() - timedelta(days=days or config.runs["retention_days"])
    db = database(config)
    deleted = 0
    try:
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
