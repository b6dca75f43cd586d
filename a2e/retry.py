"""The public retry API: ``@retryable`` for sync and async functions, on :class:`RetryPolicy`.

    from a2e.retry import RetryPolicy, retryable

    @retryable(RetryPolicy(max_retries=3, initial_delay=0.5))
    def fetch(): ...
"""

from a2e.engine.retry import RetryPolicy, parse_retry_after, retryable

__all__ = ["RetryPolicy", "parse_retry_after", "retryable"]
