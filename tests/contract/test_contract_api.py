"""The contract at the edges: bodies, numbers, names, hosts, keys and the document."""

from __future__ import annotations

import json

import pytest

from a2e.api.pagination import CURSOR_PATTERN, decode_cursor, encode_cursor
from a2e.store.base import MAX_ID
from tests.helpers import auth

DEEP = "[" * 1000 + "]" * 1000
BODY_PATHS = [
    ("POST", "/api/v1/workflows/execute"),
    ("POST", "/api/v1/workflows/validate"),
    ("POST", "/api/v1/saved-workflows/wf"),
    ("POST", "/api/v1/saved-workflows/wf/execute"),
    ("POST", "/api/v1/admin/agents"),
    ("PATCH", "/api/v1/admin/agents/root"),
    ("PUT", "/api/v1/admin/agents/root/limits"),
]


@pytest.fixture
def admin(make_agent):
    return make_agent("root", admin=True)


@pytest.mark.parametrize(("method", "path"), BODY_PATHS)
@pytest.mark.parametrize("body", [DEEP, json.dumps({"workflow": json.loads("[" * 65 + "]" * 65)})])
def test_a_body_nested_too_deep_is_a_400_everywhere(client, admin, method, path, body):
    response = client.open(path, method=method, data=body, content_type="application/json",
                           headers=auth(admin))
    assert response.status_code == 400, response.json
    assert "nested deeper than 64" in response.json["error"]["message"]


def test_a_body_at_the_depth_bound_is_decoded(client, admin):
    body = {"name": "deep-ok", "allowed_operations": None,
            "allowed_hosts": [], "admin": False}
    nested = json.loads("[" * 61 + "]" * 61)  # + body, list, message: 64 deep
    response = client.post("/api/v1/workflows/validate", headers=auth(admin),
                           json={"workflow": [{"type": "x", "v": nested}]})
    assert response.status_code == 200
    assert client.post("/api/v1/admin/agents", headers=auth(admin), json=body).status_code == 201


@pytest.mark.parametrize("body", ['{"name": NaN}', '{"name": "\\ud800"}', b'{"name": "\xff"}', "{oops"])
def test_bodies_that_are_not_json_text_are_a_400(client, admin, body):
    response = client.post("/api/v1/admin/agents", headers=auth(admin), data=body,
                           content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["type"] == "ValidationError"


@pytest.mark.parametrize("version", [2**63, 2**64, -1, 0, "1"])
def test_integers_outside_the_database_range_are_a_400(client, admin, version):
    saved = client.post("/api/v1/saved-workflows/wf", headers=auth(admin), json={
        "workflow": '{"type": "beginExecution", "executionId": "r1", "operationOrder": []}'})
    assert saved.status_code in (201, 400)
    run = client.post("/api/v1/saved-workflows/wf/execute", headers=auth(admin),
                      json={"version": version})
    assert run.status_code == 400, run.json
    if version != "1":  # a query argument is text: "1" is version 1 there
        got = client.get(f"/api/v1/saved-workflows/wf?version={version}", headers=auth(admin))
        assert got.status_code == 400


@pytest.mark.parametrize("value", [2**31, 2**63, -1, True, "5"])
def test_limit_overrides_past_an_integer_column_are_a_400(client, admin, value):
    response = client.patch("/api/v1/admin/agents/root/limits", headers=auth(admin),
                            json={"requests_per_minute": value})
    assert response.status_code == 400


def test_the_largest_override_an_integer_column_holds_is_taken(client, admin):
    response = client.patch("/api/v1/admin/agents/root/limits", headers=auth(admin),
                            json={"requests_per_minute": 2**31 - 1})
    assert response.status_code == 200
    assert response.json["overrides"]["requests_per_minute"] == 2**31 - 1


def test_every_401_carries_a_bearer_challenge(client):
    for headers in ({}, {"Authorization": "Bearer a2e_000000000000_nope"}, {"X-API-Key": "x"}):
        response = client.get("/api/v1/capabilities", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="a2e"'


@pytest.mark.parametrize("last_id", [0, 1, 12345, MAX_ID])
def test_cursors_round_trip_and_match_their_documented_pattern(last_id):
    import re

    cursor = encode_cursor(last_id)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert decode_cursor(cursor) == last_id


@pytest.mark.parametrize("cursor", ["", "aWQ6Mw", "AAAAAAAAAAB", "zAAAAAAAAAA", "AAAAAAAAAAA\n"])
def test_cursors_the_pattern_refuses_are_a_400(client, admin, cursor):
    response = client.get("/api/v1/executions", query_string={"cursor": cursor},
                          headers=auth(admin))
    assert response.status_code == 400
    assert "cursor" in response.json["error"]["details"]["fields"]["query"]


def test_every_documented_operation_has_the_error_schema_and_its_key(client):
    document = client.get("/api/v1/openapi.json").json
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            checked += 1
            responses = operation["responses"]
            assert "default" not in responses and "422" not in responses, (method, path)
            assert "503" in responses, (method, path)
            for status, response in responses.items():
                if int(status) >= 400 and status != "414":
                    schema = response["content"]["application/json"]["schema"]["$ref"]
                    assert schema.rsplit("/", 1)[1] in {"Error", "RateLimited", "Refusal", "Health"}
            if path.startswith("/api/"):
                assert operation["security"] == [{"bearer": []}, {"apiKey": []}]
                assert responses["401"]["headers"]["WWW-Authenticate"]
            if path.startswith("/api/v1/admin"):
                assert "403" in responses
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses)
    assert checked >= 30
    error = document["components"]["schemas"]["ErrorBody"]
    assert {"type", "message"} <= set(error["required"])
    limited = document["components"]["schemas"]["RateLimited"]
    assert "retry_after" in limited["required"]


def test_the_audit_export_declares_its_content_types(client):
    document = client.get("/api/v1/openapi.json").json
    content = document["paths"]["/api/v1/admin/audit"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv", "application/x-ndjson"} <= set(content)


def test_the_docs_page_loads_its_assets_from_this_server(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/api/v1/docs/assets/{asset}" in html
        served = client.get(f"/api/v1/docs/assets/{asset}")
        try:
            assert served.status_code == 200 and len(served.data) > 1000
        finally:
            served.close()
