"""The Flask application factory."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider

from a2e.api import auth, body, errors, openapi
from a2e.api.modules import MODULES
from a2e.api.services import build_services
from a2e.api.state import AppState
from a2e.config import Settings, load_settings, parse_settings
from a2e.engine.clock import SystemClock
from a2e.engine.ports import Clock
from a2e.logs import configure_logging, log_record
from a2e.protocol.json_text import make_encoder
from a2e.secret import load_secret_key
from a2e.store.session import Database

log = logging.getLogger("a2e.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def _settings(config: Settings | Mapping[str, Any] | None) -> Settings:
    if isinstance(config, Settings):
        return config
    if config is None:
        return load_settings()
    return parse_settings(config)


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, keys in the order they were written, and one encoder made once for
    every compact answer (``json.dumps`` with options makes one per call; see
    :func:`a2e.protocol.json_text.make_encoder`)."""

    sort_keys = False

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self._compact = make_encoder(
            default=self.default, ensure_ascii=self.ensure_ascii, separators=_COMPACT["separators"])

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs == _COMPACT:
            return self._compact(obj)
        return super().dumps(obj, **kwargs)


_COMPACT = {"separators": (",", ":")}


class App(Flask):
    """Flask, minus a coroutine check per hook and view on every request: whether a
    function is async is looked up once (every hook, view and method is made at import;
    a view's method arrives bound anew each time, so it is known by its function)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async: dict[Any, bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        known = getattr(func, "__func__", func)
        is_async = self._async.get(known)
        if is_async is None:
            is_async = super().ensure_sync(func) is not func
            if len(self._async) < MAX_KNOWN_FUNCTIONS:
                self._async[known] = is_async
        return super().ensure_sync(func) if is_async else func


#: How many functions App remembers as sync or async (a bound on functions made late).
MAX_KNOWN_FUNCTIONS = 4096


def create_app(
    config: Settings | Mapping[str, Any] | None = None, *, clock: Clock | None = None
) -> Flask:
    """Build the app. ``config``: Settings, a config mapping, or None for the environment;
    ``clock``: what every service tells time by (tests pass a FakeClock)."""
    settings = _settings(config)
    configure_logging(settings.log_dir)
    app = App("a2e", static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=settings.security["max_request_bytes"])
    app.json = JsonProvider(app)
    db = Database.from_url(
        settings.database_url,
        pool_size=settings.database["pool_size"],
        busy_timeout_ms=settings.database["busy_timeout_ms"],
    )
    secret_key = load_secret_key(settings)
    app.extensions["a2e"] = AppState(
        settings=settings, db=db, secret_key=secret_key,
        services=build_services(settings, db, secret_key, clock or SystemClock()),
    )
    app.before_request(_start_request)
    auth.init_app(app)
    api = openapi.make_api(app)
    for module in MODULES:
        module.init_app(app, api)
    body.init_app(app)  # after authentication and rate limits, before any view
    errors.init_app(app)  # after Api(), so these handlers win over flask-smorest's
    app.after_request(_finish_request)
    return app


def _start_request() -> None:
    context, req = g._get_current_object(), request._get_current_object()
    context.started = time.perf_counter()
    incoming = req.headers.get("X-Request-Id", "")
    context.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    # The body's bound, read once: Flask's getter reads current_app on each of its calls.
    req.max_content_length = current_app._get_current_object().config["MAX_CONTENT_LENGTH"]


def _finish_request(response: Response) -> Response:
    context, req = g._get_current_object(), request._get_current_object()  # one lookup each
    request_id = context.get("request_id")
    response.headers["X-Request-Id"] = request_id or ""
    principal = context.get("principal")
    status = response.status_code
    log_record(
        log, logging.INFO, "%s %s %s", req.method, req.path, status,
        extra={
            "request_id": request_id,
            "agent_id": principal.agent_id if principal else None,
            "method": req.method,
            "path": req.path,
            "status": status,
            "duration_ms": round((time.perf_counter() - context.get("started", time.perf_counter())) * 1000, 2),
            "remote_addr": req.remote_addr,
        },
    )
    return response
