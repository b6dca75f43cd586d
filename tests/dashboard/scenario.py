"""A scripted set of runs whose figures the dashboard, /metrics and the CLI must report.

``alpha`` (ApiCalls to a local server): a cache miss, a cache hit, a run that succeeds
on its second attempt, a 404 (tried once) and a 502 given up after two retries.
``beta`` (GetCurrentDateTime, limited to 3 requests a day): three runs, then two 429s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer

from tests.api.workflow_helpers import jsonl, op

#: Config sections every app of the scenario runs with.
CONFIG: dict[str, Any] = {
    "retry": {"max_retries": 2, "initial_delay": 0, "jitter": False},
    "rateLimiting": {"agents": {"beta": {"requests_per_day": 3}}},
}
#: ``post(agent_name, workflow_text) -> (status code, json body)``
Post = Callable[[str, str], tuple[int, dict[str, Any]]]


def api_call(url: str, *, cache: bool) -> str:
    return jsonl(op("fetch", "ApiCall", method="GET", url=url, outputPath="/workflow/fetch",
                    cache=cache))


def clock_op() -> str:
    return jsonl(op("now", "GetCurrentDateTime", outputPath="/workflow/now"))


@dataclass
class Outcome:
    """What the scenario did, as the API answered it."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0


def serve_upstream(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/cached").respond_with_json({"v": 1})
    httpserver.expect_oneshot_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_request("/flaky").respond_with_json({"ok": True})
    httpserver.expect_request("/missing").respond_with_data("no", status=404)
    httpserver.expect_request("/down").respond_with_data("", status=502)


def run(post: Post, httpserver: HTTPServer, posts: dict[str, Post] | None = None) -> Outcome:
    """Play the scenario; ``posts`` may route a step to another server by its label."""
    serve_upstream(httpserver)
    routes = posts or {}
    outcome = Outcome()
    plan = [
        ("miss", "alpha", api_call(httpserver.url_for("/cached"), cache=True)),
        ("hit", "alpha", api_call(httpserver.url_for("/cached"), cache=True)),
        ("retried", "alpha", api_call(httpserver.url_for("/flaky"), cache=False)),
        ("missing", "alpha", api_call(httpserver.url_for("/missing"), cache=False)),
        ("down", "alpha", api_call(httpserver.url_for("/down"), cache=False)),
        *((f"beta-{n}", "beta", clock_op()) for n in range(5)),
    ]
    for label, agent, workflow in plan:
        status, body = routes.get(label, post)(agent, workflow)
        if status == 429:
            outcome.rejected += 1
            continue
        assert status == 200, (label, status, body)
        outcome.runs.append(body | {"agent": agent, "label": label})
    return outcome


#: The figures the scenario must produce (durations are checked against the runs).
EXPECTED = {
    "runs": {"succeeded": 6, "failed": 2},
    "steps": {("ApiCall", "succeeded"): 3, ("ApiCall", "failed"): 2,
              ("GetCurrentDateTime", "succeeded"): 3},
    "rejections": {"requests_per_day": 2},
    "retries": 3,
    "cache_hits": 1,
    "cache_misses": 1,
    "cache_entries": 1,
}


def check_outcome(outcome: Outcome) -> None:
    """The scenario went as scripted (so the figures below are what happened)."""
    statuses = {run["label"]: run["status"] for run in outcome.runs}
    assert statuses == {"miss": "succeeded", "hit": "succeeded", "retried": "succeeded",
                        "missing": "failed", "down": "failed", "beta-0": "succeeded",
                        "beta-1": "succeeded", "beta-2": "succeeded"}
    assert outcome.rejected == 2
    by_label = {run["label"]: run for run in outcome.runs}
    assert by_label["hit"]["steps"][0]["cached"] is True
    assert [len(by_label[name]["steps"][0]["attempts"]) for name in ("retried", "missing", "down")] \
        == [2, 1, 3]
