"""The public retry API: ``@retryable`` for sync and async functions, on :class:`RetryPolicy`.

    from a2e.retry import RetryPolicy, retryable

    @retryable(RetryPolicy(max_retries=3, initial_delay=0.5))
    def fetch(): ...

Kept on purpose for code that embeds a2e (the seed's ``@retryable``): the server's own
ApiCall retries use :class:`RetryPolicy` directly, and this decorator runs tenacity on that
same policy's backoff, so there is one retry policy, not two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests
import tenacity

from a2e.engine.retry import RetryPolicy, parse_retry_after
from a2e.errors import OperationTimeout

__all__ = ["TRANSIENT_ERRORS", "RetryPolicy", "parse_retry_after", "retryable"]

#: What ``retryable`` retries by default: failures to connect and timeouts.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError, OperationTimeout, requests.ConnectionError, requests.Timeout,
)

F = TypeVar("F", bound=Callable[..., Any])


def retryable(
    policy: RetryPolicy | None = None,
    *,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT_ERRORS,
    sleep: Callable[[float], Any] | None = None,
) -> Callable[[F], F]:
    """Decorate a sync or async function to retry on ``retry_on`` with ``policy``'s backoff
    (``max_retries`` retries, then the last exception is raised).

    ``sleep`` replaces tenacity's (``time.sleep``, or ``asyncio.sleep`` for a coroutine
    function, which then needs an async ``sleep``). tenacity's ``statistics`` on the
    decorated function report the attempts of its last call.
    """
    policy = policy or RetryPolicy()
    options: dict[str, Any] = {
        "stop": tenacity.stop_after_attempt(policy.max_retries + 1),
        "wait": lambda state: policy.backoff(state.attempt_number),
        "retry": tenacity.retry_if_exception_type(retry_on),
        "reraise": True,
    }
    if sleep is not None:
        options["sleep"] = sleep
    return tenacity.retry(**options)
