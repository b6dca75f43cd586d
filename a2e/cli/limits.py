"""``a2e limits show|set|reset|prune``: per-agent limits and their usage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from a2e.audit import actions, record_cli_event
from a2e.cli.common import emit, session_scope, settings
from a2e.config import LIMIT_KEYS, LIMITS
from a2e.limits.windows import PERIOD_SECONDS, RULES, window_start
from a2e.store.base import utcnow
from a2e.store.queries import agents as agent_queries
from a2e.store.queries import limits as queries
from a2e.store.queries import usage as usage_queries

#: Rows older than the cutoff are deleted this many hours at a time, each in its own
#: short transaction, so pruning never holds the write lock for long.
PRUNE_SLICE = timedelta(hours=1)


def _starts() -> dict[str, Any]:
    now = utcnow()
    return {period: window_start(now, period) for period in PERIOD_SECONDS}


def _describe(session: Session, name: str) -> dict[str, Any]:
    agent = agent_queries.read_agent(session, name)
    rate_limiting = settings().rate_limiting
    overrides = queries.read_overrides(session, agent.id)
    usage: dict[str, int] = {}
    starts = _starts()
    for kind, rules in RULES.items():
        counts = usage_queries.read_usage(
            session, agent.id, kind, {period: starts[period] for _key, period in rules}
        )
        usage.update({key: counts[period] for key, period in rules})
    return {
        "agent_id": agent.id,
        "name": agent.name,
        "enabled": rate_limiting["enabled"],
        "overrides": overrides,
        "effective": queries.effective_limits(rate_limiting, agent.name, overrides),
        "usage": usage,
    }


@click.group("limits")
def limits_group() -> None:
    """Per-agent rate limits (requests, ApiCalls, concurrent runs) and their usage.

    Limiting as a whole is switched off with "enabled": false in the rateLimiting
    section of the configuration file.
    """


@limits_group.command("show")
@click.argument("name")
def show(name: str) -> None:
    """Print NAME's overrides, the limits in force and the current windows' usage."""
    with session_scope() as session:
        emit(_describe(session, name))


def _limit_options(command: Any) -> Any:
    for limit in reversed(LIMITS):
        command = click.option(
            limit.flag, limit.key, type=click.IntRange(min=0), default=None,
            help=f"{limit.description} (0 blocks).",
        )(command)
    return command


@limits_group.command("set")
@click.argument("name")
@_limit_options
@click.option("--clear", is_flag=True, help="Return every limit to the default first.")
def set_limits(name: str, clear: bool, **given: int | None) -> None:
    """Change only the limits given for NAME; the others keep their values.

    Takes effect on the next request in every server process.
    """
    values: dict[str, int | None] = dict.fromkeys(LIMIT_KEYS) if clear else {}
    values.update({key: value for key, value in given.items() if value is not None})
    if not values:
        raise click.UsageError("give at least one limit option, or --clear")
    config = settings()
    with session_scope(write=True) as session:
        agent = agent_queries.read_agent(session, name)
        queries.write_overrides(session, agent.id, values, utcnow())
        record_cli_event(session, config, actions.LIMITS_CHANGED, target=f"agent:{agent.name}",
                         agent_id=agent.id, details={"changed": values})
        emit(_describe(session, name))


@limits_group.command("reset")
@click.argument("name")
def reset(name: str) -> None:
    """Zero NAME's usage in the current windows (refusal counts stay for reporting)."""
    config = settings()
    with session_scope(write=True) as session:
        agent = agent_queries.read_agent(session, name)
        usage_queries.reset_usage(session, agent.id, _starts())
        queries.write_overrides(session, agent.id, {}, utcnow())  # every process notices
        record_cli_event(session, config, actions.USAGE_RESET, target=f"agent:{agent.name}",
                         agent_id=agent.id)
        emit(_describe(session, name))


@limits_group.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Keep this many days (default: rateLimiting.usage_retention_days).")
def prune(days: int | None) -> None:
    """Delete usage rows of windows older than the retention; print how many."""
    keep = days or settings().rate_limiting["usage_retention_days"]
    cutoff = utcnow() - timedelta(days=keep)
    deleted = 0
    while True:
        with session_scope(write=True) as session:
            oldest = usage_queries.read_oldest_window_start(session)
            if oldest is None or oldest >= cutoff:
                break
            deleted += usage_queries.delete_usage_before(session, min(oldest + PRUNE_SLICE, cutoff))
    emit({"deleted": deleted, "before": cutoff.isoformat()})


def register(cli: click.Group) -> None:
    cli.add_command(limits_group)
