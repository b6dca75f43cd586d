"""Health, JSON errors, request ids, body limits."""

from tests.helpers import auth


def test_health_needs_no_key_and_pings_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json["status"] == "healthy"
    assert response.json["service"] == "a2e-server"
    assert response.json["database"] == "ok"


def test_health_is_503_when_the_database_is_unreachable(settings_factory):
    from a2e.api import create_app

    settings = settings_factory(
        database={"url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    client = create_app(settings).test_client()
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json["status"] == "unhealthy"
    assert health.headers["Retry-After"]
    agent = client.get("/api/v1/capabilities", headers=auth("a2e_000000000000_abc"))
    assert agent.status_code == 503
    assert agent.json["error"]["type"] == "ServiceUnavailable"
    assert int(agent.headers["Retry-After"]) >= 1


def test_unknown_path_and_wrong_method_are_json(client, make_agent):
    key = make_agent()
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json["error"]["type"] == "NotFoundError"
    wrong = client.delete("/api/v1/capabilities", headers=auth(key))
    assert wrong.status_code == 405 and wrong.json["error"]["type"] == "MethodNotAllowed"


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    generated = client.get("/health", headers={"X-Request-Id": "bad id with spaces"})
    assert len(generated.headers["X-Request-Id"]) == 32


def test_body_limits_and_content_type(client, make_agent, settings_factory):
    admin = make_agent("root", admin=True)
    too_big = client.post("/api/v1/admin/agents", headers=auth(admin),
                          data="x" * (1024 * 1024 + 1), content_type="application/json")
    assert too_big.status_code == 413 and too_big.json["error"]["type"] == "RequestTooLarge"
    not_json = client.post("/api/v1/admin/agents", headers=auth(admin), data="name=x",
                           content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415
    malformed = client.post("/api/v1/admin/agents", headers=auth(admin), data="{oops",
                            content_type="application/json")
    assert malformed.status_code == 400 and malformed.is_json
    invalid = client.post("/api/v1/admin/agents", headers=auth(admin), json={"name": ""})
    assert invalid.status_code == 400
    assert "name" in invalid.json["error"]["details"]["fields"]["json"]


def test_openapi_document_needs_no_key(client):
    doc = client.get("/api/v1/openapi.json")
    assert doc.status_code == 200
    assert "/api/v1/capabilities" in doc.json["paths"]


def test_a_value_the_database_cannot_hold_is_a_client_error(client, make_agent):
    key = make_agent()
    response = client.get("/api/v1/executions/a%00b", headers=auth(key))
    assert response.status_code in (400, 404)  # PostgreSQL refuses NUL; SQLite finds nothing
    assert response.is_json


def test_the_app_knows_sync_functions_once_and_still_refuses_async_ones(app):
    def hook():
        pass

    async def coroutine():  # pragma: no cover - never awaited
        pass

    class View:
        def get(self):
            return "got"

    assert app.ensure_sync(hook) is hook and app.ensure_sync(hook) is hook
    bound = View().get
    assert app.ensure_sync(bound) is bound
    assert app.ensure_sync(View().get)() == "got"  # known by its function, bound anew
    for _ in range(2):  # Flask turns async functions over to asgiref, or says it needs it
        try:
            wrapped = app.ensure_sync(coroutine)
        except RuntimeError as missing:
            assert "async" in str(missing)
        else:
            assert wrapped is not coroutine
