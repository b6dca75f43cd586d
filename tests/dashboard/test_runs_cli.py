"""``a2e runs list`` and ``a2e runs show`` over the scripted scenario."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from a2e.cli import cli
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth


@pytest.fixture
def runs(cli_env):
    def invoke(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(cli, ["runs", *args])
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_list_as_json_newest_first_with_filters(runs, played):
    listed = json.loads(runs("list", "--format", "json"))
    assert [row["execution_id"] for row in listed] \
        == [run["execution_id"] for run in reversed(played.runs)]
    assert set(listed[0]) == {"run_id", "execution_id", "agent", "status", "started_at",
                              "duration_ms"}
    by_id = {run["execution_id"]: run for run in played.runs}
    for row in listed:
        assert row["agent"] == by_id[row["execution_id"]]["agent"]
        assert row["status"] == by_id[row["execution_id"]]["status"]
        assert row["duration_ms"] == by_id[row["execution_id"]]["duration_ms"]
    failed = json.loads(runs("list", "--agent", "alpha", "--status", "failed", "--format", "json"))
    assert [row["status"] for row in failed] == ["failed", "failed"]
    assert len(json.loads(runs("list", "--limit", "3", "--format", "json"))) == 3
    assert json.loads(runs("list", "--since", "2999-01-01", "--format", "json")) == []


def test_list_as_a_table(runs, played):
    lines = runs("list", "--agent", "beta").splitlines()
    assert lines[0].split() == ["run_id", "execution_id", "agent", "status", "started_at",
                                "duration_ms"]
    assert len(lines) == 2 + 3 and all("beta" in line for line in lines[2:])
    assert runs("list", "--since", "2999-01-01") == "(no runs)\n"


def test_show_by_run_id_and_by_execution_id(runs, played):
    down = next(run for run in played.runs if run["label"] == "down")
    listed = json.loads(runs("list", "--agent", "alpha", "--status", "failed", "--format", "json"))
    run_id = next(row["run_id"] for row in listed if row["execution_id"] == down["execution_id"])
    by_id = json.loads(runs("show", str(run_id)))
    assert by_id["execution_id"] == down["execution_id"] and by_id["agent"] == "alpha"
    assert by_id["status"] == "failed" and by_id["error"]["details"] == {"statusCode": 502}
    assert [a["status"] for a in by_id["steps"][0]["attempts"]] == [502, 502, 502]
    assert json.loads(runs("show", down["execution_id"])) == by_id
    assert json.loads(runs("show", down["execution_id"], "--agent", "alpha")) == by_id


def test_show_and_list_errors(runs, played):
    assert "no run or execution" in runs("show", "nope", code=1)
    assert "has no execution" in runs("show", "nope", "--agent", "beta", code=1)
    assert "no agent named" in runs("list", "--agent", "nobody", code=1)
    assert "Invalid value" in runs("list", "--status", "done", code=2)
    assert "Invalid value" in runs("list", "--limit", "0", code=2)


def test_show_asks_for_agent_when_an_execution_id_is_shared(runs, client, keys):
    workflow = jsonl(op("now", "GetCurrentDateTime", outputPath="/workflow/now"),
                     execution_id="nightly-1")
    for agent in ("alpha", "root"):
        response = client.post("/api/v1/workflows/execute", headers=auth(keys[agent]),
                               json={"workflow": workflow})
        assert response.status_code == 200, response.get_json()
    assert "name one with --agent" in runs("show", "nightly-1", code=1)
    shown = json.loads(runs("show", "nightly-1", "--agent", "root"))
    assert shown["agent"] == "root" and shown["execution_id"] == "nightly-1"
