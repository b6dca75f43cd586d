"""``a2e cache ...``: statistics, invalidation and the sweep of expired entries."""

from __future__ import annotations

import click

from a2e.audit import actions, record_cli_event
from a2e.cli.common import database, emit, settings
from a2e.config import Settings
from a2e.engine.clock import SystemClock
from a2e.engine.ops import REGISTRY
from a2e.store.cache import CachePolicy, SqlResultCache, stats_report
from a2e.store.queries import agents as agent_queries


def _cache(config: Settings) -> SqlResultCache:
    return SqlResultCache(database(config), CachePolicy.from_settings(config.cache, REGISTRY.default_ttls()), SystemClock())


@click.group("cache")
def cache_group() -> None:
    """Inspect and clear the persistent result cache."""


@cache_group.command("stats")
@click.option("--agent", help="Only this agent (name or id).")
def stats(agent: str | None) -> None:
    """Print hits, misses, writes, evictions, expirations, invalidations and current
    entries per agent and operation type, with totals, as JSON."""
    cache = _cache(settings())
    try:
        agent_id = _agent_id(cache, agent) if agent else None
        emit(stats_report(cache.stats(agent_id)))
    finally:
        cache.db.dispose()


@cache_group.command("clear")
@click.option("--type", "op_type", help="Only entries of this operation type (e.g. ApiCall).")
@click.option("--agent", help="Only this agent's entries (name or id).")
@click.option("--key", "key_hash", help="Only the entry with this key hash (64 hex digits).")
def clear(op_type: str | None, agent: str | None, key_hash: str | None) -> None:
    """Delete cached results matching every filter given (no filter: all of them).

    Records a cache.invalidated audit event and prints {"removed": n, "filters": {...}}.
    """
    config = settings()
    filters = {k: v for k, v in {"type": op_type, "agent": agent, "key": key_hash}.items() if v}
    cache = _cache(config)
    try:
        agent_id = _agent_id(cache, agent) if agent else None
        removed = cache.invalidate(
            agent_id=agent_id, op_type=op_type, key_hash=key_hash,
            record=lambda session, removed: record_cli_event(
                session, config, actions.CACHE_INVALIDATED, agent_id=agent_id,
                target=f"agent:{agent}" if agent else "cache",
                details={**filters, "removed": removed}),
        )
    finally:
        cache.db.dispose()
    emit({"removed": removed, "filters": filters})


@cache_group.command("sweep")
def sweep() -> None:
    """Delete every expired entry now (counted as expirations); prints {"expired": n}.

    The server also sweeps every cache.sweep_interval seconds as it writes entries;
    run this from cron when the cache is written rarely.
    """
    cache = _cache(settings())
    try:
        emit({"expired": sum(cache.sweep().values())})
    finally:
        cache.db.dispose()


def _agent_id(cache: SqlResultCache, ref: str) -> int:
    with cache.db.session() as session:
        try:
            return agent_queries.read_agent(session, ref).id
        except agent_queries.AgentNotFound as exc:
            raise click.ClickException(str(exc)) from None


def register(cli: click.Group) -> None:
    cli.add_command(cache_group)
