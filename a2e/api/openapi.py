"""The OpenAPI document and its docs page.

Every operation's error answers are documented in one place, :class:`ErrorResponses`,
an apispec plugin that runs on each path a blueprint registers. A new endpoint gets
them by default — nothing to add in its module:

- every operation: ``503`` (the database is unavailable or not migrated);
- with a key (every ``/api/`` path but the document and this page): ``security``
  (``bearer`` or ``apiKey``), ``401`` with ``WWW-Authenticate``, and ``429`` (rate
  limits; its body adds ``retry_after``) except on the uncounted status endpoint;
- ``/api/v1/admin/...`` and ``/api/v1/dashboard/...``: ``403`` (not an admin key);
- with parameters or a body: ``400``; with query arguments: ``414`` (gunicorn's, for a
  URL past its request-line limit); with path parameters or an ``agent`` argument
  (a name or id to look up): ``404``; with a body: ``413`` and ``415``.

Each is ``{"error": {"type", "message", ...}}`` (:class:`ErrorSchema`). A status an
endpoint documents itself (``@blp.alt_response(409, description=...)``) keeps its
description and, when it gives no schema, gets :class:`ErrorSchema`. flask-smorest's
own ``422`` for arguments is documented as the ``400`` the server answers.

The docs page is Swagger UI from the ``swagger-ui-bundle`` package, served by the app
itself under ``/api/v1/docs/assets/``: it needs no network beyond this server.
"""

from __future__ import annotations

from typing import Any

import swagger_ui_bundle
from apispec import BasePlugin
from flask import Blueprint, Flask
from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields

from a2e import __version__
from a2e.api.auth import ADMIN_ONLY_PREFIXES, AUTH_CHALLENGE, needs_key

DOCS_PATH = "/api/v1/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
RATE_LIMIT_STATUS_PATH = "/api/v1/rate-limit/status"
SECURITY = [{"bearer": []}, {"apiKey": []}]
#: Query arguments naming a resource that may not exist (a 404).
LOOKUP_ARGUMENTS = frozenset({"agent"})
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


class ErrorBodySchema(Schema):
    """``error``: ``type`` and ``message`` always; ``details`` and others when they help."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={"description": "e.g. ValidationError"})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "what was wrong, by field or limit"})
    suggestions = fields.List(fields.String())


class ErrorSchema(Schema):
    """Every error answer: ``{"error": {"type", "message", ...}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


class RateLimitedSchema(ErrorSchema):
    """A 429: the error plus ``retry_after`` (seconds; also the ``Retry-After`` header)."""

    retry_after = fields.Integer(required=True)


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


RETRY_AFTER = _header("seconds to wait before trying again")


def _error(description: str, schema: str = "Error", **headers: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if headers:
        response["headers"] = headers
    return response


ERRORS = {
    400: _error("the request is not valid (arguments, body, JSON or values out of range)"),
    401: _error("no API key, or one that is not valid",
                **{"WWW-Authenticate": _header(AUTH_CHALLENGE)}),
    403: _error("this endpoint needs an admin key"),
    404: _error("no such resource"),
    413: _error("the request body is larger than security.max_request_bytes"),
    415: _error("the body is not JSON (Content-Type: application/json)"),
    429: _error("over a rate limit", "RateLimited", **{"Retry-After": RETRY_AFTER}),
    414: {"description": "the URL is longer than the HTTP server takes (8190 bytes); "
                         "answered by gunicorn before the app",
          "content": {"text/html": {"schema": {"type": "string"}}}},
    503: _error("the database is unreachable or not migrated; try again shortly",
                **{"Retry-After": RETRY_AFTER}),
}


def error_statuses(path: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses any operation on ``path`` shaped like ``operation`` can answer."""
    statuses = [503]
    parameters = operation.get("parameters") or []
    names = {p.get("name") for p in parameters if isinstance(p, dict)}
    in_path = "{" in path
    body = "requestBody" in operation
    if needs_key(path):
        statuses.append(401)
        if path != RATE_LIMIT_STATUS_PATH:
            statuses.append(429)
    if path.startswith(ADMIN_ONLY_PREFIXES):
        statuses.append(403)
    if parameters or body or in_path:
        statuses.append(400)
    if any(isinstance(p, dict) and p.get("in") == "query" for p in parameters):
        statuses.append(414)
    if in_path or names & LOOKUP_ARGUMENTS:
        statuses.append(404)
    if body:
        statuses += [413, 415]
    return statuses


class ErrorResponses(BasePlugin):
    """Documents the error answers and the key of every operation (module docstring)."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method in HTTP_METHODS and path is not None:
                self._document(path, operation)

    @staticmethod
    def _document(path: str, operation: dict[str, Any]) -> None:
        responses = operation.setdefault("responses", {})
        unprocessable = responses.pop(422, None) or responses.pop("422", None)
        if unprocessable is not None and not ({400, "400"} & set(responses)):
            responses[400] = ERRORS[400]
        documented = {str(status) for status in responses}
        for status in error_statuses(path, operation):
            if str(status) not in documented:
                responses[status] = ERRORS[status]
        for status, response in responses.items():
            if (int(status) >= 400 and isinstance(response, dict)
                    and "content" not in response and "$ref" not in response):
                response.update(_error(response.get("description") or "error",
                                       "RateLimited" if int(status) == 429 else "Error"))
        if needs_key(path):
            operation.setdefault("security", SECURITY)


class A2EApi(Api):
    """flask-smorest's Api with our error shape and no made-up default response."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


def configure(app: Flask) -> None:
    """The OpenAPI settings of ``app``: JSON document and Swagger UI from the app itself."""
    app.config.update(
        API_TITLE="a2e",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{ASSETS_PATH}/",
        # No call to the public validator: the page works with no network.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
    )


def make_api(app: Flask) -> Api:
    """The app's Api: error responses on every operation, the key schemes, the docs page."""
    configure(app)
    api = A2EApi(app, spec_kwargs={"extra_plugins": [ErrorResponses()]})
    # "Error" is ERROR_SCHEMA, registered by flask-smorest's own responses.
    api.spec.components.schema("RateLimited", schema=RateLimitedSchema)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "an agent's API key"}
    )
    api.spec.components.security_scheme(
        "apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    )
    app.register_blueprint(Blueprint(
        "docs_assets", __name__, static_folder=swagger_ui_bundle.swagger_ui_path,
        static_url_path=ASSETS_PATH,
    ))
    return api
