"""A limit is one declaration (``a2e.config.LIMITS``): everything else is derived from it."""

from __future__ import annotations

from a2e.api.limits.schemas import LimitsPatchSchema, LimitsReplaceSchema
from a2e.cli.limits import set_limits
from a2e.config import LIMIT_KEYS, LIMITS, AgentLimitsSchema, parse_settings
from a2e.limits.windows import RULES
from a2e.store.models import AgentLimits


def test_config_defaults_and_per_agent_keys_come_from_the_declaration():
    rate_limiting = parse_settings({}).rate_limiting
    assert {limit.key: rate_limiting[limit.key] for limit in LIMITS} == {
        limit.key: limit.default for limit in LIMITS
    }
    assert set(AgentLimitsSchema().fields) == set(LIMIT_KEYS)


def test_windows_follow_the_declared_counters_and_periods():
    assert RULES == {
        "requests": (("requests_per_minute", "minute"), ("requests_per_hour", "hour"),
                     ("requests_per_day", "day")),
        "api_calls": (("api_calls_per_minute", "minute"), ("api_calls_per_hour", "hour")),
    }
    windowed = {key for rules in RULES.values() for key, _period in rules}
    assert windowed == {limit.key for limit in LIMITS if limit.counter is not None}


def test_api_fields_and_cli_options_are_the_declared_limits():
    assert set(LimitsReplaceSchema().fields) == set(LIMIT_KEYS)
    assert set(LimitsPatchSchema().fields) == set(LIMIT_KEYS)
    options = {param.name: param.opts for param in set_limits.params}
    for limit in LIMITS:
        assert options[limit.key] == [limit.flag]


def test_the_override_table_has_one_nullable_column_per_limit():
    columns = {column.name: column for column in AgentLimits.__table__.columns}
    assert set(columns) - {"agent_id", "updated_at"} == set(LIMIT_KEYS)
    assert all(columns[key].nullable for key in LIMIT_KEYS)
