"""Configuration: defaults ← JSON file named by ``A2E_CONFIG`` ← ``A2E_*`` environment.

The file uses PROTOCOL §9's sections (camelCase section names, snake_case keys);
the seed's configuration file is valid as it is. Every section is validated with
marshmallow: an unknown key or a bad value raises :class:`ConfigError` naming the
key, and the process stops before serving.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

DEFAULT_DATABASE_URL = "sqlite:///a2e.db"


@dataclass(frozen=True)
class Limit:
    """One per-agent limit. Everything else is derived from :data:`LIMITS`: the config keys
    of ``rateLimiting`` and ``rateLimiting.agents.<name>``, the limiter's windows, the admin
    API's fields and the ``a2e limits set`` options. The override is a nullable column of
    ``agent_limits`` named ``key`` (model and migration; a test checks they agree).

    ``counter`` and ``period`` place a windowed limit (``counter`` is what is counted per
    fixed UTC window: ``requests`` or ``api_calls``); both are None for a limit enforced
    elsewhere (``concurrent_runs``: leases of run slots).
    """

    key: str
    default: int
    flag: str
    description: str
    counter: str | None = None
    period: str | None = None


#: Every limit, each counter's tightest period first.
LIMITS = (
    Limit("requests_per_minute", 60, "--per-minute", "requests per minute", "requests", "minute"),
    Limit("requests_per_hour", 1000, "--per-hour", "requests per hour", "requests", "hour"),
    Limit("requests_per_day", 10000, "--per-day", "requests per day", "requests", "day"),
    Limit("api_calls_per_minute", 30, "--api-calls-per-minute", "ApiCalls per minute",
          "api_calls", "minute"),
    Limit("api_calls_per_hour", 500, "--api-calls-per-hour", "ApiCalls per hour",
          "api_calls", "hour"),
    Limit("concurrent_runs", 4, "--concurrent-runs", "runs in flight at once"),
)
LIMIT_KEYS = tuple(limit.key for limit in LIMITS)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the offending key."""


# -- marshmallow schemas, one per section -------------------------------------------

def _count(default: int | None) -> fields.Integer:
    return fields.Integer(
        load_default=default, allow_none=default is None, strict=True,
        validate=validate.Range(min=0),
    )


def _seconds(default: float) -> fields.Float:
    return fields.Float(load_default=default, validate=validate.Range(min=0))


class _Section(Schema):
    class Meta:
        unknown = RAISE


class AgentLimitsSchema(_Section.from_dict({limit.key: _count(None) for limit in LIMITS})):
    """``rateLimiting.agents.<name>``: any limit; absent or null means the default."""


class RateLimitingSchema(_Section.from_dict({limit.key: _count(limit.default) for limit in LIMITS})):
    enabled = fields.Boolean(load_default=True)
    usage_retention_days = fields.Integer(load_default=35, strict=True, validate=validate.Range(min=1))
    async_commit = fields.Boolean(load_default=False)
    agents = fields.Dict(
        keys=fields.String(), values=fields.Nested(AgentLimitsSchema), load_default=dict
    )


class RetrySchema(_Section):
    max_retries = _count(3)
    initial_delay = _seconds(1.0)
    max_delay = _seconds(60.0)
    exponential_base = fields.Float(load_default=2.0, validate=validate.Range(min=1))
    jitter = fields.Boolean(load_default=True)
    retry_unsafe_methods = fields.Boolean(load_default=False)


class CacheSchema(_Section):
    enabled = fields.Boolean(load_default=True)
    default_ttl = _count(300)
    max_size = fields.Integer(load_default=1000, strict=True, validate=validate.Range(min=1))
    max_bytes = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1)
    )
    ttl_by_type = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0)),
        load_default=dict,
    )
    sweep_interval = _count(60)


class AuditSchema(_Section):
    enabled = fields.Boolean(load_default=True)
    retention_days = fields.Integer(load_default=365, strict=True, validate=validate.Range(min=1))


class RunsSchema(_Section):
    retention_days = fields.Integer(load_default=90, strict=True, validate=validate.Range(min=1))


class DatabaseSchema(_Section):
    url = fields.String(load_default=DEFAULT_DATABASE_URL, validate=validate.Length(min=1))
    pool_size = fields.Integer(load_default=5, strict=True, validate=validate.Range(min=1))
    busy_timeout_ms = fields.Integer(load_default=5000, strict=True, validate=validate.Range(min=0))


class ServerSchema(_Section):
    host = fields.String(load_default="127.0.0.1")
    port = fields.Integer(load_default=8000, strict=True, validate=validate.Range(min=0, max=65535))
    workers = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=64))
    threads = fields.Integer(load_default=4, strict=True, validate=validate.Range(min=1, max=64))


class SecuritySchema(_Section):
    max_request_bytes = fields.Integer(
        load_default=1024 * 1024, strict=True, validate=validate.Range(min=1024)
    )


class ExecutionSchema(_Section):
    max_operations = fields.Integer(load_default=100, strict=True, validate=validate.Range(min=1))
    max_loop_iterations = fields.Integer(
        load_default=1000, strict=True, validate=validate.Range(min=1)
    )
    max_wait_ms = _count(60_000)
    run_deadline_s = fields.Float(load_default=300.0, validate=validate.Range(min=1))
    max_response_bytes = fields.Integer(
        load_default=10 * 1024 * 1024, strict=True, validate=validate.Range(min=1)
    )
    max_value_bytes = fields.Integer(load_default=10 * 1024 * 1024, strict=True, validate=validate.Range(min=1024))
    max_run_bytes = fields.Integer(load_default=32 * 1024 * 1024, strict=True, validate=validate.Range(min=1024))
    max_steps = fields.Integer(load_default=10_000, strict=True, validate=validate.Range(min=1))


class MetricsSchema(_Section):
    public = fields.Boolean(load_default=False)
    #: Seconds between two rolls of each server process's roller (docs/observability.md).
    roll_interval_s = fields.Float(load_default=60.0, validate=validate.Range(min=1))
    #: A roll stops this many seconds before now: runs that finished later stay live.
    roll_grace_s = fields.Float(load_default=300.0, validate=validate.Range(min=0))


class QueueSchema(_Section):
    """Asynchronous runs (docs/async-runs.md)."""

    workers_per_server = fields.Integer(load_default=2, strict=True, validate=validate.Range(min=0, max=64))
    lease_s = fields.Float(load_default=30.0, validate=validate.Range(min=1))
    poll_s = fields.Float(load_default=1.0, validate=validate.Range(min=0.05))


class ConfigSchema(_Section):
    """Every section is required here; :func:`parse_settings` fills absent ones with ``{}``
    so that their own defaults are loaded."""

    rateLimiting = fields.Nested(RateLimitingSchema, required=True)  # noqa: N815
    retry = fields.Nested(RetrySchema, required=True)
    cache = fields.Nested(CacheSchema, required=True)
    audit = fields.Nested(AuditSchema, required=True)
    runs = fields.Nested(RunsSchema, required=True)
    database = fields.Nested(DatabaseSchema, required=True)
    server = fields.Nested(ServerSchema, required=True)
    security = fields.Nested(SecuritySchema, required=True)
    execution = fields.Nested(ExecutionSchema, required=True)
    metrics = fields.Nested(MetricsSchema, required=True)
    queue = fields.Nested(QueueSchema, required=True)


# -- the typed result ----------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """Validated configuration. Sections are plain dicts with every default filled in."""

    rate_limiting: Mapping[str, Any]
    retry: Mapping[str, Any]
    cache: Mapping[str, Any]
    audit: Mapping[str, Any]
    runs: Mapping[str, Any]
    database: Mapping[str, Any]
    server: Mapping[str, Any]
    security: Mapping[str, Any]
    execution: Mapping[str, Any]
    metrics: Mapping[str, Any]
    queue: Mapping[str, Any]
    secret_key: str | None = field(default=None, repr=False)
    log_dir: str = "logs"
    source: str | None = None

    @property
    def database_url(self) -> str:
        return str(self.database["url"])


def _first_error(messages: Any, prefix: str = "") -> str:
    """Flatten marshmallow's nested messages to ``section.key: message``."""
    if isinstance(messages, dict):
        key, inner = next(iter(messages.items()))
        name = f"{prefix}.{key}" if prefix else str(key)
        return _first_error(inner, name)
    if isinstance(messages, list) and messages:
        return f"{prefix}: {messages[0]}" if prefix else str(messages[0])
    return f"{prefix}: {messages}"


def parse_settings(
    data: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    source: str | None = None,
) -> Settings:
    """Validate a config mapping, then apply ``A2E_*`` variables from ``env``."""
    env = {} if env is None else env
    if data is not None and not isinstance(data, Mapping):
        raise ConfigError("configuration must be a JSON object")
    try:
        schema = ConfigSchema()
        loaded = schema.load({name: {} for name in schema.fields} | dict(data or {}))
    except SchemaError as exc:
        where = f" in {source}" if source else ""
        raise ConfigError(f"invalid configuration{where}: {_first_error(exc.messages)}") from None
    database = dict(loaded["database"])
    if env.get("A2E_DATABASE_URL"):
        database["url"] = env["A2E_DATABASE_URL"]
    return Settings(
        rate_limiting=loaded["rateLimiting"],
        retry=loaded["retry"],
        cache=loaded["cache"],
        audit=loaded["audit"],
        runs=loaded["runs"],
        database=database,
        server=loaded["server"],
        security=loaded["security"],
        execution=loaded["execution"],
        metrics=loaded["metrics"],
        queue=loaded["queue"],
        secret_key=env.get("A2E_SECRET_KEY") or None,
        log_dir=env.get("A2E_LOG_DIR") or "logs",
        source=source,
    )


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Defaults ← the file named by ``A2E_CONFIG`` ← the environment."""
    env = os.environ if env is None else env
    path = env.get("A2E_CONFIG")
    data: Any = None
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"A2E_CONFIG: cannot read {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"A2E_CONFIG: {path} is not valid JSON: {exc}") from None
    return parse_settings(data, env, source=path)
