"""Reading a Prometheus text exposition back into samples."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted labels): value}``."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def check_scenario(found: dict, expected: dict) -> None:
    """The scenario's counters, as /metrics must show them."""
    for status in ("succeeded", "failed", "running", "interrupted", "queued", "cancelled"):
        assert value(found, "a2e_runs_total", status=status) == expected["runs"].get(status, 0)
    for (op_type, status), count in expected["steps"].items():
        assert value(found, "a2e_steps_total", type=op_type, status=status) == count
    for limit in ("requests_per_minute", "requests_per_hour", "requests_per_day",
                  "api_calls_per_minute", "api_calls_per_hour"):
        assert value(found, "a2e_rate_limit_rejections_total", limit=limit) \
            == expected["rejections"].get(limit, 0)
    assert value(found, "a2e_apicall_retries_total") == expected["retries"]
    assert value(found, "a2e_cache_hits_total") == expected["cache_hits"]
    assert value(found, "a2e_cache_misses_total") == expected["cache_misses"]
    assert value(found, "a2e_cache_entries") == expected["cache_entries"]
    assert value(found, "a2e_queue_depth") == 0
    finished = sum(expected["runs"].values())
    assert value(found, "a2e_run_duration_seconds_count") == finished
    assert value(found, "a2e_run_duration_seconds_bucket", le="+Inf") == finished
