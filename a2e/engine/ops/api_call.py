"""ApiCall: one HTTP request to an allowed host; the parsed response is the result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from a2e.engine.context import OpContext
from a2e.engine.outbound import check_target
from a2e.errors import DataError, ExecutionError, OperationTimeout
from a2e.protocol.paths import to_text

DEFAULT_TIMEOUT_MS = 30_000


def run(ctx: OpContext, config: Mapping[str, Any]) -> Any:
    """The response body: parsed JSON for a JSON content type, else text.

    ``url`` takes ``{/path}`` templates; ``headers`` and ``body`` take ``{"path": ...}``
    references and ``{"credentialRef": {"id": ...}}``. A 4xx/5xx answer is an
    ExecutionError with ``details.statusCode``.
    """
    method = config["method"]
    url = ctx.render(config["url"])
    check_target(url, ctx.allowed_hosts)
    headers = _headers(ctx.resolve(config.get("headers") or {}))
    body = ctx.resolve(config.get("body"))
    timeout_ms = config.get("timeout", DEFAULT_TIMEOUT_MS)
    timeout_s = min(timeout_ms / 1000, ctx.remaining_s)
    if timeout_s <= 0:
        raise OperationTimeout(
            f"API call has no time left (timeout {timeout_ms} ms, "
            f"{max(ctx.remaining_s, 0):.1f} s before the run deadline)"
        )
    if ctx.limiter is not None:
        ctx.limiter.admit_api_call(ctx.agent_id)
    response = ctx.http.send(
        method, url, headers=headers, body=body, timeout=timeout_s,
        max_bytes=ctx.limits.max_response_bytes, allowed_hosts=ctx.allowed_hosts,
        on_attempt=ctx.record_attempt,
    )
    if response.status >= 400:
        raise ExecutionError(
            f"API call failed: {response.status} {response.reason}".rstrip(),
            details={"statusCode": response.status},
        )
    return response.content()


def _headers(headers: Any) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        raise DataError("ApiCall headers must be an object")
    for name, value in headers.items():
        if isinstance(value, (dict, list)):
            raise DataError(f"ApiCall header {name!r} must be a string, number or boolean")
    return {name: to_text(value) for name, value in headers.items()}
