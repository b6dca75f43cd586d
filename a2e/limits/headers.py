"""Response headers for a decision: ``X-RateLimit-*`` and the IETF draft's pair.

The draft pair follows draft-ietf-httpapi-ratelimit-headers (structured fields):
``RateLimit-Policy: "requests_per_minute";q=60;w=60, ...`` lists every limit, and
``RateLimit: "requests_per_minute";r=59;t=42`` gives the tightest one's remaining
quota (``r``) and seconds until it resets (``t``).
"""

from __future__ import annotations

from a2e.limits.windows import PERIOD_SECONDS, Decision


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    tightest = decision.tightest()
    window = tightest.window
    reset = window.reset_after(decision.now)
    policy = ", ".join(
        f'"{w.limit_key}";q={w.limit};w={PERIOD_SECONDS[w.period]}' for w in decision.windows
    )
    return {
        "X-RateLimit-Limit": str(window.limit),
        "X-RateLimit-Remaining": str(tightest.remaining),
        "X-RateLimit-Reset": str(reset),
        "RateLimit-Policy": policy,
        "RateLimit": f'"{window.limit_key}";r={tightest.remaining};t={reset}',
    }
