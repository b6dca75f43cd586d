"""The one path every JSON request body takes, before any view sees it.

``decode_body`` (a ``before_request`` hook on ``/api/`` paths) reads the body once,
bounded by ``security.max_request_bytes`` (``MAX_CONTENT_LENGTH``) whether it came
with a ``Content-Length`` or chunked: over it is a 413 either way. A body that is not
JSON is a 415; one that does not decode, nests deeper than 64 levels
(:data:`a2e.protocol.json_text.MAX_DEPTH`) or holds a lone surrogate is a 400. The
decoded value is what ``request.get_json()`` and the argument schemas then read.
"""

from __future__ import annotations

from flask import Flask, Request
from flask import request as flask_request
from flask_smorest import abort
from werkzeug.exceptions import RequestEntityTooLarge

from a2e.protocol import json_text

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _has_body(req: Request) -> bool:
    if req.content_length is not None:
        return req.content_length > 0
    return "chunked" in req.headers.get("Transfer-Encoding", "").lower()


def _too_large(limit: int) -> None:
    abort(413, message=f"request body larger than {limit} bytes")


def decode_body() -> None:
    request = flask_request._get_current_object()  # one lookup of the proxy
    if request.method not in BODY_METHODS or not request.path.startswith("/api/"):
        return
    if not _has_body(request):
        return
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        _too_large(limit)
    if not request.is_json:
        abort(415, message="send the body as JSON (Content-Type: application/json)")
    if request.content_length is None:
        # Chunked: read the server's decoded stream ourselves, one byte past the cap, so
        # that a body over it is told apart from one of exactly the cap (Werkzeug's own
        # bounded stream stops at the cap without saying so).
        stream = request.environ["wsgi.input"]
        data = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(data) > limit:
            _too_large(limit)
        request._cached_data = data  # what request.get_data() returns from now on
    else:
        try:
            data = request.get_data(cache=True)
        except RequestEntityTooLarge:
            _too_large(limit or 0)
    try:
        value = json_text.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        abort(400, message="the body is not UTF-8 text")
    except json_text.JSONTextError as exc:
        abort(400, message=f"the body is not valid JSON: {exc}")
    # What request.get_json() returns from now on (Werkzeug's cache of the decoded body).
    request._cached_json = (value, value)


def init_app(app: Flask) -> None:
    app.before_request(decode_body)
