"""The one exception the client raises."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request that did not succeed: the server's ``error`` object and the HTTP status.

    ``status`` is None when no answer arrived (connection refused, timeout); ``error``
    is then ``{"type": "ConnectionError" | "Timeout", "message": ...}``. ``body`` is the
    whole JSON answer (a refused workflow's body also has ``errors`` and ``warnings``).
    """

    def __init__(self, status: int | None, error: dict[str, Any], body: Any = None,
                 retry_after: float | None = None) -> None:
        self.status = status
        self.error = error
        self.body = body
        self.retry_after = retry_after
        super().__init__(f"{status or 'no answer'}: {error.get('type', 'Error')}: {self.message}")

    @property
    def type(self) -> str:
        return str(self.error.get("type", "Error"))

    @property
    def message(self) -> str:
        return str(self.error.get("message", ""))

    @property
    def suggestions(self) -> list[str]:
        return list(self.error.get("suggestions") or [])
