"""Count every authenticated request (but the status endpoint) and add the headers.

``count_request`` runs after authentication (auth registers its hook first). A refusal
answers 429 at once, before any work; ``add_headers`` puts the ``X-RateLimit-*`` and
draft ``RateLimit-Policy`` / ``RateLimit`` headers on every response of a counted or
status request, 429 included.

The execute endpoints (:data:`COUNTED_WITH_THE_RUN`) are counted in the transaction that
starts their run instead (:class:`PendingCount`, one transaction fewer per execute).
Whatever else such a request does (a refused workflow, a queued run, a duplicate
execution id, a body that does not parse) settles its count on its own first
(:func:`settle_count`), and ``add_headers`` settles one still pending: a request is
counted once, and a request over the limit is a 429 whatever its body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Response, abort, g, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from a2e.api.state import state
from a2e.limits.headers import rate_limit_headers
from a2e.limits.service import RateLimits, Undecided, refusal_details, refusal_message
from a2e.limits.windows import Decision, Window

STATUS_PATH = "/api/v1/rate-limit/status"
#: Endpoints whose request is counted in the transaction that starts their run.
COUNTED_WITH_THE_RUN = frozenset({"workflows.ExecuteWorkflow",
                                  "saved_workflows.ExecuteSavedWorkflow"})
log = logging.getLogger("a2e.limits")


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


class PendingCount:
    """The count of a request that starts a run, taken in the run's start transaction
    (the engine's :class:`a2e.engine.ports.StartAdmission`)."""

    def __init__(self, agent_id: int, limits: Any) -> None:
        self.agent_id = agent_id
        self.limits = limits
        self._decision: Callable[[], Decision] | None = None

    def count_in(self, tx: Any) -> None:
        """Raises :class:`a2e.limits.service.Undecided` when it may be a refusal."""
        self._decision = rate_limits().check_request_in(tx, self.agent_id, self.limits)

    def refused(self) -> Exception:
        return Undecided()

    def committed(self) -> None:
        context = g._get_current_object()
        context.pop("pending_count", None)
        if self._decision is not None:
            context.rate_limit = self._decision()


def pending_count() -> PendingCount | None:
    """This request's count when it is still to be taken with its run."""
    return g._get_current_object().get("pending_count")


def _count(agent_id: int, limits: Any) -> Response | None:
    decision = rate_limits().check_request(agent_id, limits)
    if decision is None:
        return None
    g._get_current_object().rate_limit = decision
    if decision.refused is None:
        return None
    return too_many_requests(decision.refused, decision.retry_after)


def count_request() -> Response | None:
    context, req = g._get_current_object(), request._get_current_object()
    principal = context.get("principal")
    if principal is None or req.path == STATUS_PATH:
        return None
    if req.endpoint in COUNTED_WITH_THE_RUN and rate_limits().enabled:
        context.pending_count = PendingCount(principal.agent_id, principal.limits)
        return None
    return _count(principal.agent_id, principal.limits)


def _count_pending() -> Response | None:
    """Take a pending count on its own (the 429 when refused); None when none is pending."""
    pending = g._get_current_object().pop("pending_count", None)
    return None if pending is None else _count(pending.agent_id, pending.limits)


def settle_count() -> None:
    """Take a pending count on its own now; a refusal ends the request with its 429."""
    refusal = _count_pending()
    if refusal is not None:
        abort(refusal)


def add_headers(response: Response) -> Response:
    try:  # a request that ended before its run started
        refusal = _count_pending()
    except SQLAlchemyError as exc:  # the response stands; only its count is lost
        log.warning("could not count a request: %s", type(exc).__name__)
        refusal = None
    if refusal is not None:
        response = refusal
    decision: Decision | None = g._get_current_object().get("rate_limit")
    if decision is not None:
        response.headers.update(rate_limit_headers(decision))
    return response
