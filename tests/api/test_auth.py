"""Authentication: both header styles, 401 JSON for every bad key, 403 for non-admins."""

from sqlalchemy import select

from a2e.store.models import ApiKey
from tests.helpers import auth


def test_bearer_and_x_api_key_both_authenticate(client, make_agent):
    key = make_agent("alice")
    for headers in (auth(key), {"X-API-Key": key.api_key}):
        response = client.get("/api/v1/capabilities", headers=headers)
        assert response.status_code == 200, response.json
        assert response.json["name"] == "alice"


def test_missing_unknown_malformed_and_wrong_keys_get_401_json(client, make_agent):
    key = make_agent("alice")
    wrong_secret = key.api_key[:-4] + ("AAAA" if not key.api_key.endswith("AAAA") else "BBBB")
    for headers in ({}, auth("nonsense"), auth("a2e_000000000000_x"), auth(wrong_secret),
                    {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/capabilities", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["type"] == "AuthenticationError"
        assert response.is_json


def test_revoked_key_and_disabled_agent_get_401(client, make_agent):
    admin = make_agent("root", admin=True)
    key = make_agent("alice")
    prefix = key.api_key.split("_")[1]
    assert client.delete(f"/api/v1/admin/agents/alice/keys/{prefix}", headers=auth(admin)).status_code == 204
    assert client.get("/api/v1/capabilities", headers=auth(key)).status_code == 401

    second = client.post("/api/v1/admin/agents/alice/keys", headers=auth(admin)).json
    assert client.get("/api/v1/capabilities", headers=auth(second["api_key"])).status_code == 200
    client.patch("/api/v1/admin/agents/alice", json={"disabled": True}, headers=auth(admin))
    assert client.get("/api/v1/capabilities", headers=auth(second["api_key"])).status_code == 401


def test_admin_endpoints_need_an_admin_key(client, make_agent):
    agent = make_agent("alice")
    admin = make_agent("root", admin=True)
    assert client.get("/api/v1/admin/agents").status_code == 401
    forbidden = client.get("/api/v1/admin/agents", headers=auth(agent))
    assert forbidden.status_code == 403
    assert forbidden.json["error"]["type"] == "PermissionError"
    assert client.get("/api/v1/admin/agents", headers=auth(admin)).status_code == 200


def test_admin_creates_an_agent_and_the_key_is_shown_once(client, make_agent, db):
    admin = make_agent("root", admin=True)
    created = client.post("/api/v1/admin/agents", headers=auth(admin),
                          json={"name": "bob", "allowed_hosts": ["*.example.com", "127.0.0.1"]})
    assert created.status_code == 201
    body = created.json
    assert set(body) == {"agent_id", "name", "api_key"} and body["name"] == "bob"
    caps = client.get("/api/v1/capabilities", headers=auth(body["api_key"])).json
    assert caps["hosts"] == ["*.example.com", "127.0.0.1"]
    assert client.post("/api/v1/admin/agents", headers=auth(admin), json={"name": "bob"}).status_code == 409
    with db.session() as session:
        stored = session.scalars(select(ApiKey.key_hash)).all()
    assert body["api_key"] not in stored


def test_key_plaintext_is_nowhere_in_the_database_or_the_logs(client, make_agent, database_url, settings):
    key = make_agent("alice")
    client.get("/api/v1/capabilities", headers=auth(key))
    client.get("/api/v1/capabilities", headers=auth(key.api_key + "x"))
    from pathlib import Path

    from sqlalchemy.engine import make_url

    secret_part = key.api_key.split("_", 2)[2]
    log_text = (Path(settings.log_dir) / "a2e.log").read_text()
    assert "capabilities" in log_text and secret_part not in log_text
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        dump = Path(url.database).read_bytes() + Path(url.database + "-wal").read_bytes()
        assert secret_part.encode() not in dump
