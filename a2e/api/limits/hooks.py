"""Count every authenticated request (but the status endpoint) and add the headers.

``count_request`` runs after authentication (auth registers its hook first). A refusal
answers 429 at once, before any work; ``add_headers`` puts the ``X-RateLimit-*`` and
draft ``RateLimit-Policy`` / ``RateLimit`` headers on every response of a counted or
status request, 429 included.
"""

from __future__ import annotations

from flask import Response, g, jsonify, request

from a2e.api.state import state
from a2e.limits.headers import rate_limit_headers
from a2e.limits.service import RateLimits, refusal_details, refusal_message
from a2e.limits.windows import Decision, Window

STATUS_PATH = "/api/v1/rate-limit/status"


def rate_limits() -> RateLimits:
    return state().services.rate_limits


def too_many_requests(refused: Window, retry_after: int) -> Response:
    """PROTOCOL §10's 429: ``retry_after`` beside ``error``, and ``Retry-After``."""
    response = jsonify({
        "error": {
            "type": "RateLimitError",
            "message": refusal_message(refused, retry_after),
            "details": refusal_details(refused),
        },
        "retry_after": retry_after,
    })
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    return response


def count_request() -> Response | None:
    principal = g.get("principal")
    if principal is None or request.path == STATUS_PATH:
        return None
    decision = rate_limits().check_request(principal.agent_id, principal.limits)
    if decision is None:
        return None
    g.rate_limit = decision
    if decision.refused is None:
        return None
    return too_many_requests(decision.refused, decision.retry_after)


def add_headers(response: Response) -> Response:
    decision: Decision | None = g.get("rate_limit")
    if decision is not None:
        response.headers.update(rate_limit_headers(decision))
    return response
