"""Data bounds: max_value_bytes, max_run_bytes and max_steps, each op's output checked as
it is written, and a real server's peak memory while an amplification is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from a2e.engine.bounds import STEP_RECORD_BYTES, json_size
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth
from tests.serving import ServerProcess

EXECUTE = "/api/v1/workflows/execute"
MIB = 1024 * 1024


def amplification(url: str, rounds: int = 40) -> str:
    """An ApiCall for a few KB, then EncodeDecode hex over and over: the data doubles each step."""
    ops = [op("fetch", "ApiCall", method="GET", url=url, outputPath="/workflow/v0")]
    ops += [op(f"hex{i}", "EncodeDecode", action="encode", encoding="hex",
               inputPath=f"/workflow/v{i}", outputPath=f"/workflow/v{i + 1}") for i in range(rounds)]
    return jsonl(*ops)


def execute(app, key, workflow: str) -> dict:
    response = app.test_client().post(EXECUTE, headers=auth(key), json={"workflow": workflow})
    assert response.status_code == 200, response.json
    return response.json


def test_json_size_matches_compact_json_for_plain_values():
    value = {"a": [1, "xé", None, True, {"k": "v" * 100}], "b": 2.5}
    compact = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    assert abs(json_size(value) - compact) <= 20


def test_chained_hex_is_refused_at_max_value_bytes(make_app, make_agent, httpserver):
    httpserver.expect_request("/seed").respond_with_data("s" * 6000, content_type="text/plain")
    app = make_app(execution={"max_value_bytes": 200_000, "max_run_bytes": 10 * MIB})
    body = execute(app, make_agent("amplifier"), amplification(httpserver.url_for("/seed")))
    assert body["status"] == "failed" and body["error"]["type"] == "ExecutionError"
    assert "execution.max_value_bytes" in body["error"]["message"]
    assert any("max_value_bytes" in hint for hint in body["error"]["suggestions"])
    # 6,000 B doubles: hex5 writes 384,000 B (> 200,000), so it fails and nothing after it runs
    assert body["error"]["operationId"] == "hex5"
    assert sorted(body["results"]) == ["fetch", "hex0", "hex1", "hex2", "hex3", "hex4"]
    assert [step["status"] for step in body["steps"]][-1] == "failed"
    assert len(body["steps"]) == 7


def test_many_values_under_the_value_bound_are_refused_at_max_run_bytes(make_app, make_agent, httpserver):
    httpserver.expect_request("/chunk").respond_with_data("c" * 50_000, content_type="text/plain")
    app = make_app(execution={"max_value_bytes": 100_000, "max_run_bytes": 300_000})
    url = httpserver.url_for("/chunk")
    workflow = jsonl(*[op(f"get{i}", "ApiCall", method="GET", url=url, outputPath=f"/workflow/c{i}")
                       for i in range(10)])
    body = execute(app, make_agent("hoarder"), workflow)
    assert body["error"]["type"] == "ExecutionError"
    assert "execution.max_run_bytes" in body["error"]["message"]
    assert body["error"]["operationId"] == "get5"
    held = sum(json_size(value) for value in body["results"].values())
    assert held + STEP_RECORD_BYTES * len(body["steps"]) <= 300_000


def test_a_loop_is_refused_at_max_steps(make_app, make_agent, httpserver):
    httpserver.expect_request("/items").respond_with_json(list(range(100)))
    app = make_app(execution={"max_steps": 25})
    workflow = jsonl(
        op("items", "ApiCall", method="GET", url=httpserver.url_for("/items"), outputPath="/workflow/items"),
        op("each", "Loop", inputPath="/workflow/items", operations=["double"], outputPath="/workflow/out"),
        op("double", "Calculate", expression="2 * 2", outputPath="/workflow/d"),
        order=["items", "each"],
    )
    body = execute(app, make_agent("looper"), workflow)
    assert body["error"]["type"] == "ExecutionError"
    assert "execution.max_steps" in body["error"]["message"]
    assert body["error"]["operationId"] == "double"
    assert len(body["steps"]) == 25


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("gunicorn started no worker")


def _peak_rss(pid: int) -> int:
    """The process's high-water resident set (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_servers_peak_memory_stays_near_max_run_bytes_while_an_amplification_is_refused(
        database_url, make_agent, httpserver, tmp_path):
    max_run_bytes = 8 * MIB
    httpserver.expect_request("/seed").respond_with_data("s" * 6000, content_type="text/plain")
    config = tmp_path / "a2e.json"
    config.write_text(json.dumps({"execution": {"max_value_bytes": 4 * MIB, "max_run_bytes": max_run_bytes},
                                  "rateLimiting": {"enabled": False}}))
    key = make_agent("amplifier")
    with ServerProcess(database_url, tmp_path / "server", workers=1,
                       env={"A2E_CONFIG": str(config)}) as server:
        worker = _worker_pid(server.process.pid)
        warm = requests.post(f"{server.url}{EXECUTE}", headers=auth(key), timeout=120, json={
            "workflow": amplification(httpserver.url_for("/seed"), rounds=3)})
        assert warm.json()["status"] == "succeeded"
        before = _peak_rss(worker)
        refused = requests.post(f"{server.url}{EXECUTE}", headers=auth(key), timeout=120, json={
            "workflow": amplification(httpserver.url_for("/seed"))}).json()
        peak = _peak_rss(worker)
    assert refused["status"] == "failed"
    assert "execution.max_value_bytes" in refused["error"]["message"]
    assert len(refused["steps"]) < 15
    print(f"worker peak RSS {before / MIB:.1f} MiB -> {peak / MIB:.1f} MiB")
    assert peak - before < 6 * max_run_bytes, (before, peak)
