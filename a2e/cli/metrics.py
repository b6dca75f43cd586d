"""``a2e metrics roll``: roll finished runs into the dashboard's rollups now."""

from __future__ import annotations

from datetime import timedelta

import click

from a2e.cli.common import database, settings
from a2e.store.base import utcnow
from a2e.store.rollup import roll


@click.group("metrics")
def metrics_group() -> None:
    """The rollups behind the dashboard and /metrics."""


@metrics_group.command("roll")
@click.option("--grace", "grace_s", type=click.FloatRange(min=0), default=None,
              help="Leave the runs that finished in the last SECONDS live "
                   "(default: metrics.roll_grace_s, 300).", metavar="SECONDS")
def roll_now(grace_s: float | None) -> None:
    """Roll the runs finished before now minus the grace, as each server's roller does
    every metrics.roll_interval_s; safe while servers run (each range is rolled once).
    Useful after a bulk import, or with --grace 0 when no server is writing runs.
    Prints the new watermark: every run finished before it is in the rollups."""
    config = settings()
    grace = config.metrics["roll_grace_s"] if grace_s is None else grace_s
    db = database(config)
    try:
        until = roll(db, utcnow() - timedelta(seconds=grace))
    finally:
        db.dispose()
    click.echo(f"rolled up to {until.isoformat()}")


def register(cli: click.Group) -> None:
    cli.add_command(metrics_group)
