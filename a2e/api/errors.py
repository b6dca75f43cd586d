"""Every error leaves as JSON in the protocol's shape: ``{"error": {"type", "message", ...}}``.

Never a traceback: unexpected exceptions are logged server-side with the request
id and answered with a generic 500.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from sqlalchemy.exc import DataError as DatabaseDataError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from a2e.api.auth import AUTH_CHALLENGE
from a2e.store.schema_state import NOT_MIGRATED_SQLSTATES
from a2e.engine.ports import DuplicateExecution
from a2e.errors import A2EError, PermissionDenied, RateLimited

log = logging.getLogger("a2e.api")

#: The ``error.type`` of plain HTTP failures that are not one of the protocol's own.
HTTP_ERROR_TYPES = {
    400: "ValidationError",
    401: "AuthenticationError",
    403: "PermissionError",
    404: "NotFoundError",
    405: "MethodNotAllowed",
    409: "ConflictError",
    413: "RequestTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationError",
    429: "RateLimitError",
    500: "InternalError",
    503: "ServiceUnavailable",
}
DATABASE_RETRY_AFTER_S = 5


def error_response(
    status: int, message: str, *, error_type: str | None = None, **extra: Any
) -> Response:
    """A JSON error response; ``extra`` keys land inside ``error`` (details, suggestions)."""
    body: dict[str, Any] = {
        "type": error_type or HTTP_ERROR_TYPES.get(status, "Error"),
        "message": message,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify({"error": body})
    response.status_code = status
    return response


def status_for(error: A2EError) -> int:
    if isinstance(error, DuplicateExecution):
        return 409
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, RateLimited):
        return 429
    return 400


def _http_error(exc: HTTPException) -> Response:
    if exc.response is not None:  # ``abort(response)``: the response is made already
        return exc.response
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    details = None
    message = exc.description or exc.name
    if data.get("messages"):  # webargs / flask-smorest argument errors
        status, message = 400, "request is not valid"
        details = {"fields": data["messages"]}
    elif data.get("message"):
        message = data["message"]
    response = error_response(status, message, details=details or data.get("details"))
    for name, value in (exc.get_headers() if status == 405 else []):
        if name.lower() == "allow":
            response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = AUTH_CHALLENGE
    return response


def _protocol_error(exc: A2EError) -> Response:
    body: dict[str, Any] = {"error": exc.to_dict()}
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
    response = jsonify(body)
    response.status_code = status_for(exc)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _database_unavailable(exc: Exception) -> Response:
    log.warning("database unavailable: %s", type(exc).__name__)
    response = error_response(503, "the database is unavailable; try again shortly")
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    return response


def _dbapi_error(exc: DBAPIError) -> Response:
    if exc.connection_invalidated:
        return _database_unavailable(exc)
    if getattr(exc.orig, "sqlstate", None) in NOT_MIGRATED_SQLSTATES:
        log.warning("database not migrated: %s", type(exc.orig).__name__)
        response = error_response(503, "the database is not migrated to this server's schema: "
                                       "run `a2e db upgrade`", details={"database": "not migrated"})
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
    return _unexpected(exc)


def _rejected_by_database(exc: DatabaseDataError) -> Response:
    """A request value the database cannot hold (too long, out of range, a NUL byte)."""
    log.warning("database refused a value: %s", type(exc.orig).__name__,
                extra={"request_id": g.get("request_id")})
    return error_response(400, "a value in the request is not valid here "
                               "(too long, out of range, or containing a NUL character)")


def _out_of_range(exc: OverflowError) -> Response:
    """An integer the database driver cannot bind (SQLite past 64 bits)."""
    log.warning("a value out of the database's range: %s", exc,
                extra={"request_id": g.get("request_id")})
    return error_response(400, "a number in the request is out of range")


def _unexpected(exc: Exception) -> Response:
    log.error(
        "unhandled %s", type(exc).__name__, exc_info=exc,
        extra={"request_id": g.get("request_id")},
    )
    return error_response(500, "internal server error")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(A2EError, _protocol_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(PoolTimeout, _database_unavailable)
    app.register_error_handler(DatabaseDataError, _rejected_by_database)
    app.register_error_handler(DBAPIError, _dbapi_error)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(Exception, _unexpected)
