"""The command line, in-process (click's runner) and as a real process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from a2e.cli import cli
from tests.conftest import REPO


@pytest.fixture
def run_cli(cli_env):
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_help_lists_every_command_group(run_cli):
    output = run_cli("--help").output
    for name in ("serve", "db", "agents", "keys"):
        assert name in output


def test_agents_create_prints_one_json_object_and_keys_rotate(run_cli, client):
    created = json.loads(run_cli("agents", "create", "demo", "--allow-host", "127.0.0.1").stdout)
    assert set(created) == {"agent_id", "name", "api_key"}
    headers = {"X-API-Key": created["api_key"]}
    assert client.get("/api/v1/capabilities", headers=headers).status_code == 200
    rotated = json.loads(run_cli("keys", "rotate", "demo").stdout)
    assert rotated["agent_id"] == created["agent_id"] and rotated["api_key"] != created["api_key"]
    assert client.get("/api/v1/capabilities", headers=headers).status_code == 401
    assert client.get("/api/v1/capabilities", headers={"X-API-Key": rotated["api_key"]}).status_code == 200
    listed = json.loads(run_cli("agents", "list").stdout)
    assert [agent["name"] for agent in listed] == ["demo"]
    run_cli("agents", "disable", "demo")
    assert client.get("/api/v1/capabilities", headers={"X-API-Key": rotated["api_key"]}).status_code == 401


def test_errors_go_to_stderr_with_a_non_zero_exit(run_cli):
    run_cli("agents", "create", "demo")
    duplicate = run_cli("agents", "create", "demo", ok=False)
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    missing = run_cli("keys", "rotate", "nobody", ok=False)
    assert missing.exit_code != 0 and "nobody" in missing.output
    bad_op = run_cli("agents", "create", "x", "--allow-op", "Teleport", ok=False)
    assert bad_op.exit_code != 0


def test_a_bad_config_file_stops_with_the_key_named(run_cli, tmp_path, monkeypatch):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"retry": {"max_retries": "many"}}))
    monkeypatch.setenv("A2E_CONFIG", str(config))
    result = run_cli("agents", "list", ok=False)
    assert result.exit_code != 0 and "retry.max_retries" in result.output


def test_db_upgrade_as_a_process_from_the_repository_root(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "A2E_DATABASE_URL": url, "A2E_LOG_DIR": str(tmp_path / "logs")}
    env.pop("A2E_SECRET_KEY", None)
    env.pop("A2E_CONFIG", None)

    def a2e(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
        # The console script, as installed by pip: no repository on its sys.path.
        return subprocess.run([str(Path(sys.executable).parent / "a2e"), *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)

    upgraded = a2e("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "head" in a2e("db", "current").stdout
    created = a2e("agents", "create", "demo")
    assert created.returncode == 0, created.stderr
    assert set(json.loads(created.stdout)) == {"agent_id", "name", "api_key"}
    elsewhere = a2e("db", "upgrade", cwd=tmp_path)
    assert elsewhere.returncode != 0 and "repository root" in elsewhere.stderr
    assert a2e("db", "downgrade", "base").returncode == 0
