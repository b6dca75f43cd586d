"""``a2e report usage|runs|cache``: the reporting views, printed as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import click
from sqlalchemy.orm import Session

from a2e.cli.audit import INSTANT
from a2e.cli.common import session_scope
from a2e.store.queries import agents as agent_queries
from a2e.store.queries import reporting as queries

FORMATS = ("table", "csv", "json")


def render_table(rows: Sequence[dict[str, Any]]) -> str:
    """Aligned columns; numbers to the right, floats with two decimals, None as ``-``."""
    if not rows:
        return "(no rows)"
    headers = list(rows[0])
    cells = [[_cell(row[name]) for name in headers] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(headers)]
    numeric = [all(isinstance(row[name], (int, float)) or row[name] is None for row in rows)
               for name in headers]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * width for width in widths]), *map(line, cells)])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def emit_rows(rows: list[dict[str, Any]], fmt: str) -> None:
    rows = [{name: _plain(value) for name, value in row.items()} for row in rows]
    if fmt == "json":
        click.echo(json.dumps(rows))
    elif fmt == "csv":
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        click.echo(render_table(rows))


def _agent_id(session: Session, name: str | None) -> int | None:
    return None if name is None else agent_queries.read_agent(session, name).id


def report_options(command: Callable[..., None]) -> Callable[..., None]:
    command = click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                           show_default=True)(command)
    command = click.option("--since", type=INSTANT,
                           help="Only from this date or date-time on (UTC).")(command)
    return click.option("--agent", metavar="NAME", help="Only this agent (name or id).")(command)


@click.group("report")
def report_group() -> None:
    """Usage, run and cache reports from the SQL reporting views."""


@report_group.command("usage")
@report_options
def usage(agent: str | None, since: datetime | None, fmt: str) -> None:
    """Per agent and UTC day: requests, 429s, runs, failed runs, ApiCalls (agent_usage_daily)."""
    with session_scope() as session:
        rows = queries.read_usage(
            session, agent_id=_agent_id(session, agent), since=since.date() if since else None
        )
    emit_rows(rows, fmt)


@report_group.command("runs")
@report_options
def runs(agent: str | None, since: datetime | None, fmt: str) -> None:
    """Per agent and saved workflow: runs, success rate, mean/max and p50/p95 duration (ms)."""
    with session_scope() as session:
        rows = queries.read_run_summary(session, agent_id=_agent_id(session, agent), since=since)
    emit_rows(rows, fmt)


@report_group.command("cache")
@report_options
def cache(agent: str | None, since: datetime | None, fmt: str) -> None:
    """Per operation type: cache hits, misses, hit rate, evictions (cache_efficiency).

    The counters are running totals, so --since is refused here.
    """
    if since is not None:
        raise click.UsageError("cache counters are totals since the start; --since does not apply")
    with session_scope() as session:
        rows = queries.read_cache_efficiency(session, agent_id=_agent_id(session, agent))
    emit_rows(rows, fmt)


def register(cli: click.Group) -> None:
    cli.add_command(report_group)
