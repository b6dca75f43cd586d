"""Every route, checked from the app's own URL map, so new endpoints are covered too."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.helpers import auth

PUBLIC = {"/health", "/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/assets/<path:filename>"}


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.rule, method


def concrete(rule: str) -> str:
    """A path for the rule, with placeholder values for its variables."""
    return re.sub(r"<[^>]+>", lambda m: "1" if m.group(0).startswith("<int") else "x", rule)


def call(client, method: str, path: str, headers: dict[str, str]):
    kwargs = {"headers": headers}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    return client.open(path, method=method, **kwargs)


def test_every_admin_endpoint_is_401_without_a_key_and_403_with_an_agent_key(app, client, make_agent):
    agent = make_agent("plain")
    admin_routes = [(r, m) for r, m in routes(app) if r.startswith("/api/v1/admin")]
    assert len(admin_routes) >= 8
    for rule, method in admin_routes:
        path = concrete(rule)
        anonymous = call(client, method, path, {})
        assert anonymous.status_code == 401, (method, rule)
        assert anonymous.json["error"]["type"] == "AuthenticationError"
        forbidden = call(client, method, path, auth(agent))
        assert forbidden.status_code == 403, (method, rule, forbidden.json)


def test_every_api_endpoint_needs_a_key(app, client):
    for rule, method in routes(app):
        if rule in PUBLIC or not rule.startswith("/api/"):
            continue
        response = call(client, method, concrete(rule), {})
        assert response.status_code == 401, (method, rule)
        assert response.is_json


def test_every_endpoint_is_in_the_openapi_document_and_it_validates(app, client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    for rule, method in routes(app):
        if rule in PUBLIC:
            continue
        key = (re.sub(r"<[^>]+>", "{}", rule), method)
        assert key in documented, key
    security = document["components"]["securitySchemes"]
    assert {"bearer", "apiKey"} <= set(security)


@pytest.mark.parametrize("path", ["/api/v1/docs"])
def test_docs_page_needs_no_key(client, path):
    assert client.get(path).status_code == 200
