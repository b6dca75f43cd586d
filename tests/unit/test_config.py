import json
from pathlib import Path

import pytest

from a2e.config import ConfigError, load_settings, parse_settings

SEED_CONFIG = {
    "rateLimiting": {
        "enabled": True, "requests_per_minute": 60, "requests_per_hour": 1000,
        "requests_per_day": 10000, "api_calls_per_minute": 30, "api_calls_per_hour": 500,
        "agents": {"premium-agent": {"requests_per_minute": 120}},
    },
    "retry": {"max_retries": 3, "initial_delay": 1.0, "max_delay": 60.0,
              "exponential_base": 2.0, "jitter": True, "retry_unsafe_methods": False},
    "cache": {"enabled": True, "default_ttl": 300, "max_size": 1000, "max_bytes": None,
              "ttl_by_type": {"ApiCall": 300, "FilterData": 60}},
    "audit": {"retention_days": 365},
    "database": {"url": "sqlite:///a2e.db"},
    "server": {"host": "127.0.0.1", "port": 8000, "workers": 1},
    "security": {"max_request_bytes": 1048576},
}


def test_defaults_without_file_or_environment():
    settings = load_settings({})
    assert settings.database_url == "sqlite:///a2e.db"
    assert settings.rate_limiting["requests_per_minute"] == 60
    assert settings.rate_limiting["api_calls_per_hour"] == 500
    assert settings.retry["max_retries"] == 3
    assert settings.cache["max_size"] == 1000
    assert settings.execution["run_deadline_s"] == 300.0
    assert settings.log_dir == "logs"
    assert settings.secret_key is None


def test_the_seed_configuration_is_valid_as_it_is():
    settings = parse_settings(SEED_CONFIG)
    assert settings.rate_limiting["agents"]["premium-agent"]["requests_per_minute"] == 120
    assert settings.rate_limiting["agents"]["premium-agent"]["requests_per_hour"] is None
    assert settings.cache["ttl_by_type"] == {"ApiCall": 300, "FilterData": 60}


def test_file_overrides_defaults_and_environment_overrides_file(tmp_path: Path):
    path = tmp_path / "a2e.json"
    path.write_text(json.dumps({"database": {"url": "sqlite:///from-file.db"},
                                "server": {"port": 9000}}))
    from_file = load_settings({"A2E_CONFIG": str(path)})
    assert from_file.database_url == "sqlite:///from-file.db"
    assert from_file.server["port"] == 9000
    env = {"A2E_CONFIG": str(path), "A2E_DATABASE_URL": "sqlite:///from-env.db",
           "A2E_SECRET_KEY": "k", "A2E_LOG_DIR": "/tmp/a2e-logs"}
    from_env = load_settings(env)
    assert from_env.database_url == "sqlite:///from-env.db"
    assert from_env.server["port"] == 9000
    assert from_env.secret_key == "k"
    assert from_env.log_dir == "/tmp/a2e-logs"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"rateLimiting": {"requests_per_minuet": 5}}, "rateLimiting.requests_per_minuet"),
        ({"retry": {"max_retries": -1}}, "retry.max_retries"),
        ({"server": {"port": "eighty"}}, "server.port"),
        ({"cache": {"ttl_by_type": {"ApiCall": "long"}}}, "cache.ttl_by_type"),
        ({"bogus": {}}, "bogus"),
        ({"rateLimiting": {"agents": {"x": {"requests_per_week": 1}}}}, "requests_per_week"),
    ],
)
def test_an_unknown_key_or_bad_value_is_named(data, named):
    with pytest.raises(ConfigError) as info:
        parse_settings(data)
    assert named in str(info.value)


def test_unreadable_or_invalid_file_is_reported(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({"A2E_CONFIG": str(tmp_path / "missing.json")})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_settings({"A2E_CONFIG": str(bad)})
    array = tmp_path / "array.json"
    array.write_text("[]")
    with pytest.raises(ConfigError, match="JSON object"):
        load_settings({"A2E_CONFIG": str(array)})
