"""ApiCall: one HTTP request to an allowed host (retried under the run's retry policy);
the parsed response is the result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.engine.http import ConnectionFailed, HttpResponse
from a2e.engine.outbound import check_target
from a2e.engine.retry import Attempt, RetryPolicy, parse_retry_after
from a2e.errors import A2EError, DataError, ExecutionError, OperationTimeout
from a2e.protocol.catalog import OpSpec, opt, out_path, req
from a2e.protocol.paths import to_text

DEFAULT_TIMEOUT_MS = 30_000
NO_RETRY = RetryPolicy(max_retries=0)


def run(ctx: OpContext, config: Mapping[str, Any]) -> Any:
    """The response body: parsed JSON for a JSON content type, else text.

    ``url`` takes ``{/path}`` templates; ``headers`` and ``body`` take ``{"path": ...}``
    references and ``{"credentialRef": {"id": ...}}``; ``idempotencyKey`` is sent as
    ``Idempotency-Key``. A 4xx/5xx answer is an ExecutionError with ``details.statusCode``.
    Connection errors, timeouts and the statuses of the retry policy are retried (POST and
    PATCH only with an idempotency key or ``retry_unsafe_methods``); each attempt passes
    the ApiCall limiter and is recorded on the step.
    """
    method = config["method"]
    url = ctx.render(config["url"])
    check_target(url, ctx.allowed_hosts)
    headers = _headers(ctx.resolve(config.get("headers") or {}))
    if "idempotencyKey" in config:
        headers["Idempotency-Key"] = ctx.render(config["idempotencyKey"])
    body = ctx.resolve(config.get("body"))
    timeout_ms = config.get("timeout", DEFAULT_TIMEOUT_MS)
    policy = (ctx.retry or NO_RETRY).for_method(method, idempotency_key="idempotencyKey" in config)
    delay = 0.0
    while True:
        response, failure = _attempt(ctx, method, url, headers, body, timeout_ms)
        status = response.status if response is not None else None
        policy = policy.increment(Attempt(len(policy.history) + 1, status,
                                          failure.error_type if failure else None, delay))
        ctx.record_attempt(policy.history[-1].to_dict())
        next_delay = policy.next_delay(
            status=status,
            transient=isinstance(failure, (ConnectionFailed, OperationTimeout)),
            retry_after=parse_retry_after(response.headers.get("retry-after"), ctx.now())
            if response is not None else None,
            remaining_s=ctx.remaining_s,
        )
        if next_delay is None:
            break
        delay = next_delay
        ctx.pause(delay)
    if failure is not None:
        if not failure.suggestions:
            failure.suggestions = [TRANSPORT_HINTS.get(failure.error_type, TRANSPORT_HINTS["ExecutionError"])]
        raise failure
    assert response is not None
    if response.status >= 400:
        raise ExecutionError(
            f"API call failed: {response.status} {response.reason}".rstrip(),
            details={"statusCode": response.status},
            suggestions=[_status_hint(response.status)],
        )
    return response.content()


TRANSPORT_HINTS = {
    "ExecutionError": "Check that the host is up and reachable from the server, then retry",
    "TimeoutError": "Raise the call's \"timeout\" (ms) or the run deadline, or try again later",
    "PermissionError": "Ask an admin to allow this host for the agent",
}
STATUS_HINTS = {
    401: "Check the credential the call sends (credentialRef) and that the API accepts it",
    403: "Check that the credential the call sends may use this resource",
    404: "Check the URL and the values its {/path} templates fill in",
    408: "The API timed out the request; try again later",
    429: "The API limits the rate: try again later (its Retry-After says when)",
}


def _status_hint(status: int) -> str:
    if status in STATUS_HINTS:
        return STATUS_HINTS[status]
    if status >= 500:
        return "The API failed on its side; try again later (5xx answers are retried by the retry policy)"
    return "Check the method, URL, headers and body against what the API expects"


def _attempt(ctx: OpContext, method: str, url: str, headers: dict[str, str], body: Any,
             timeout_ms: int) -> tuple[HttpResponse | None, A2EError | None]:
    """One request within the run's deadline, counted by the limiter: (response, None) or
    (None, the transport error)."""
    timeout_s = min(timeout_ms / 1000, ctx.remaining_s)
    if timeout_s <= 0:
        raise OperationTimeout(
            f"API call has no time left (timeout {timeout_ms} ms, "
            f"{max(ctx.remaining_s, 0):.1f} s before the run deadline)"
        )
    if ctx.limiter is not None:
        ctx.limiter.admit_api_call(ctx.agent_id)
    try:
        return ctx.http.send(
            method, url, headers=headers, body=body, timeout=timeout_s,
            max_bytes=ctx.limits.max_response_bytes, allowed_hosts=ctx.allowed_hosts,
        ), None
    except A2EError as exc:
        return None, exc


def _headers(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        raise DataError("ApiCall headers must be an object")
    for name, value in headers.items():
        if isinstance(value, (dict, list)):
            raise DataError(f"ApiCall header {name!r} must be a string, number or boolean")
    return {name: to_text(value) for name, value in headers.items()}


HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _get_only(config: Mapping[str, Any]) -> bool:
    """Only GET answers are cached unless the config says ``"cache": true``."""
    return config.get("method") == "GET"


SPEC = OpSpec(
    "ApiCall",
    doc="One HTTP request to an allowed host; the parsed response is the result.",
    fields={
        "method": req("string", choices=HTTP_METHODS),
        "url": req("string", role="url"),
        "headers": opt("object", role="refs", credentials=True),
        "body": opt("any", role="refs", credentials=True),
        "outputPath": out_path(),
    },
    run=run,
    cached_by_default=_get_only,
    default_ttl=300,
    outside_effect=True,
    deterministic=False,
)
