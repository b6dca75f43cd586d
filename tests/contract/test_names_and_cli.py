"""Agent names and hosts: one rule for the CLI and the API; CLI failures are one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2e.cli import cli
from a2e.protocol import names
from a2e.store.models import Agent
from tests.helpers import auth

A2E = str(Path(sys.executable).parent / "a2e")
BAD_NAMES = ["", "has space", "a/b", "2", "0042", "x" * 101, "tab\t", "new\n"]
BAD_HOSTS = ["http://foo/", "", "has space", "a/b", "foo:80", "*.", "[::1]x"]
GOOD_HOSTS = ["api.example.com", "*.example.com", "*", "127.0.0.1", "::1", "API.Example.COM"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_the_api_refuses_the_cli_refuses(name, client, make_agent, cli_env):
    admin = make_agent("root", admin=True)
    api = client.post("/api/v1/admin/agents", headers=auth(admin), json={"name": name})
    assert api.status_code == 400
    result = CliRunner().invoke(cli, ["agents", "create", name])
    assert result.exit_code != 0 and "not a valid agent name" in result.output
    assert names.agent_name_problem(name) is not None


@pytest.mark.parametrize("host", BAD_HOSTS)
def test_hosts_the_api_refuses_the_cli_refuses(host, client, make_agent, cli_env):
    admin = make_agent("root", admin=True)
    api = client.post("/api/v1/admin/agents", headers=auth(admin),
                      json={"name": "h", "allowed_hosts": [host]})
    assert api.status_code == 400
    patched = client.patch("/api/v1/admin/agents/root", headers=auth(admin),
                           json={"allowed_hosts": [host]})
    assert patched.status_code == 400
    result = CliRunner().invoke(cli, ["agents", "create", "h", "--allow-host", host])
    assert result.exit_code != 0 and "is not a host" in result.output


@pytest.mark.parametrize("host", GOOD_HOSTS)
def test_hosts_both_take(host, client, make_agent, cli_env):
    admin = make_agent("root", admin=True)
    api = client.post("/api/v1/admin/agents", headers=auth(admin),
                      json={"name": "api-made", "allowed_hosts": [host]})
    assert api.status_code == 201, api.json
    result = CliRunner().invoke(cli, ["agents", "create", "cli-made", "--allow-host", host])
    assert result.exit_code == 0, result.output


def test_a_digit_ref_is_always_an_id_and_a_legacy_digit_name_says_so(client, make_agent, db):
    admin = make_agent("root", admin=True)
    other = make_agent("other")
    with db.session(write=True) as session:  # a name made before names of digits were refused
        session.get(Agent, other.agent_id).name = "77"
    by_id = client.get(f"/api/v1/admin/agents/{admin.agent_id}", headers=auth(admin))
    assert by_id.json["name"] == "root"
    legacy = client.get("/api/v1/admin/agents/77", headers=auth(admin))
    assert legacy.status_code == 404
    assert f"agent {other.agent_id}" in legacy.json["error"]["message"]
    assert client.get(f"/api/v1/admin/agents/{other.agent_id}",
                      headers=auth(admin)).json["name"] == "77"


def _a2e(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([A2E, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    env = {**os.environ, "A2E_DATABASE_URL": url, "A2E_LOG_DIR": str(tmp_path / "logs"),
           "A2E_SECRET_KEY": "cli-test-secret"}
    env.pop("A2E_CONFIG", None)
    return env


@pytest.mark.parametrize(("url", "expected"), [
    ("nonsense", "A2E_DATABASE_URL"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", "A2E_DATABASE_URL"),
    ("sqlite:///{tmp}/never-migrated.db", "run `a2e db upgrade`"),
])
@pytest.mark.parametrize("command", [("agents", "list"), ("agents", "create", "x"),
                                     ("audit", "verify"), ("db", "current")])
def test_configuration_and_connection_problems_are_one_line(tmp_path, url, expected, command):
    from tests.conftest import REPO

    result = _a2e(_env(tmp_path, url.format(tmp=tmp_path)), *command, cwd=REPO)
    if command == ("db", "current") and "never-migrated" in url:
        assert result.returncode == 0  # an empty database simply has no revision
        return
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_agents_list_json_still_prints_on_a_migrated_database(cli_env):
    created = CliRunner().invoke(cli, ["agents", "create", "demo-agent"])
    assert created.exit_code == 0, created.output
    listed = json.loads(CliRunner().invoke(cli, ["agents", "list"]).output)
    assert [agent["name"] for agent in listed] == ["demo-agent"]
