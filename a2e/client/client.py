"""``Client``: the a2e REST API from Python, on requests. Answers are the server's JSON, as dicts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, cast
from urllib.parse import quote

import requests

from a2e import __version__
from a2e.client.builder import WorkflowBuilder
from a2e.client.errors import ApiError
from a2e.client.types import (
    CancelResult,
    Capabilities,
    Execution,
    ExecutionResult,
    ExecutionSummary,
    RateLimitStatus,
    SavedVersion,
    SavedWorkflow,
    ValidationReport,
)

Workflow = str | list[dict[str, Any]] | WorkflowBuilder
PAGE_SIZE = 100


class Client:
    """One agent's view of an a2e server.

    ``timeout`` (seconds) bounds each request; a long poll (``execution(id, wait=S)``)
    gets ``S`` more. With ``retry_on_rate_limit=True`` a 429 is retried after its
    ``Retry-After`` (at most ``max_rate_limit_retries`` times, and only when the wait is
    at most ``max_retry_after`` seconds); otherwise, and after that, it is an
    :class:`ApiError` like every other failure.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float = 30.0, *,
                 retry_on_rate_limit: bool = False, max_rate_limit_retries: int = 3,
                 max_retry_after: float = 60.0, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_on_rate_limit = retry_on_rate_limit
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {api_key}",
                                      "User-Agent": f"a2e-client/{__version__}"})

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the protocol's endpoints ------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return cast(Capabilities, self._request("GET", "/api/v1/capabilities"))

    def validate(self, workflow: Workflow) -> ValidationReport:
        """The validation report (valid or not: an invalid workflow is not an error here)."""
        return cast(ValidationReport,
                    self._request("POST", "/api/v1/workflows/validate", json={"workflow": _source(workflow)}))

    def execute(self, workflow: Workflow, *, execution_id: str | None = None, async_: bool = False,
                callback_url: str | None = None, validate: bool = True) -> ExecutionResult:
        """Run a workflow: the finished run (``status`` succeeded or failed), or with
        ``async_=True`` the queued run (poll it with :meth:`execution`). ``execution_id``
        is written into the workflow's ``beginExecution`` line. A refused workflow
        (400/403), a duplicate id (409) or a rate limit (429) raises :class:`ApiError`."""
        source = _source(workflow)
        if execution_id is not None:
            source = _with_execution_id(source, execution_id)
        body: dict[str, Any] = {"workflow": source, "validate": validate}
        return cast(ExecutionResult, self._request("POST", "/api/v1/workflows/execute",
                                                   json=_submit(body, async_, callback_url)))

    def execution(self, execution_id: str, wait: float | None = None) -> Execution:
        """One run with its results and steps; ``wait`` (0–60 s) long-polls until it ends."""
        params = {"wait": wait} if wait is not None else None
        return cast(Execution, self._request("GET", f"/api/v1/executions/{_segment(execution_id)}",
                                             params=params, extra_timeout=wait or 0))

    def executions(self, limit: int | None = None, status: str | None = None, *,
                   page_size: int = PAGE_SIZE) -> Iterator[ExecutionSummary]:
        """The agent's runs, newest first, following ``next_cursor`` page by page;
        at most ``limit`` of them (None: all)."""
        size = min(page_size, limit) if limit is not None else page_size
        params: dict[str, Any] = {"limit": size, **({"status": status} if status else {})}
        items = cast(Iterator[ExecutionSummary], self._pages("/api/v1/executions", params))
        for count, item in enumerate(items, start=1):
            yield item
            if limit is not None and count >= limit:
                return

    def cancel(self, execution_id: str) -> CancelResult:
        """Cancel an asynchronous run (a queued one at once, a running one at its next step);
        a run that has ended is a 409."""
        return cast(CancelResult, self._request("POST", f"/api/v1/executions/{_segment(execution_id)}/cancel"))

    def rate_limit_status(self) -> RateLimitStatus:
        return cast(RateLimitStatus, self._request("GET", "/api/v1/rate-limit/status"))

    # -- saved workflows ---------------------------------------------------------------

    def save(self, name: str, workflow: Workflow, *, description: str | None = None) -> SavedVersion:
        """Save a new version of the workflow ``name``."""
        body: dict[str, Any] = {"workflow": _source(workflow)}
        if description is not None:
            body["description"] = description
        return cast(SavedVersion, self._request("POST", f"/api/v1/saved-workflows/{_segment(name)}", json=body))

    def saved_workflow(self, name: str, version: int | None = None) -> SavedWorkflow:
        params = {"version": version} if version is not None else None
        return cast(SavedWorkflow, self._request("GET", f"/api/v1/saved-workflows/{_segment(name)}",
                                                 params=params))

    def saved_workflows(self) -> Iterator[SavedVersion]:
        """The latest version of each saved workflow, by name."""
        return cast(Iterator[SavedVersion], self._pages("/api/v1/saved-workflows", {"limit": PAGE_SIZE}))

    def delete_saved(self, name: str) -> None:
        self._request("DELETE", f"/api/v1/saved-workflows/{_segment(name)}")

    def run_saved(self, name: str, *, execution_id: str | None = None, version: int | None = None,
                  async_: bool = False, callback_url: str | None = None) -> ExecutionResult:
        """Run a saved workflow by name (its latest version unless ``version``)."""
        body: dict[str, Any] = {}
        if execution_id is not None:
            body["executionId"] = execution_id
        if version is not None:
            body["version"] = version
        return cast(ExecutionResult, self._request(
            "POST", f"/api/v1/saved-workflows/{_segment(name)}/execute",
            json=_submit(body, async_, callback_url)))

    # -- transport -----------------------------------------------------------------------

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            page = self._request("GET", path, params={**params, **({"cursor": cursor} if cursor else {})})
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def _request(self, method: str, path: str, *, extra_timeout: float = 0, **kwargs: Any) -> Any:
        for attempt in range(self.max_rate_limit_retries + 1):
            try:
                response = self._session.request(method, self.base_url + path,
                                                  timeout=self.timeout + extra_timeout, **kwargs)
            except requests.Timeout as exc:
                raise ApiError(None, {"type": "Timeout", "message": str(exc)}) from exc
            except requests.RequestException as exc:
                raise ApiError(None, {"type": "ConnectionError", "message": str(exc)}) from exc
            if response.ok:
                return response.json() if response.content else None
            error = _error_of(response)
            if (response.status_code == 429 and self.retry_on_rate_limit
                    and attempt < self.max_rate_limit_retries
                    and error.retry_after is not None and error.retry_after <= self.max_retry_after):
                self._sleep(error.retry_after)
                continue
            raise error
        raise AssertionError("unreachable")


def _error_of(response: requests.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        text = error if isinstance(error, str) else (response.text[:500] or response.reason)
        error = {"type": "HTTPError", "message": text}
    return ApiError(response.status_code, error, body, _retry_after(response, body))


def _retry_after(response: requests.Response, body: Any) -> float | None:
    for value in (response.headers.get("Retry-After"),
                  body.get("retry_after") if isinstance(body, dict) else None):
        try:
            return max(0.0, float(value)) if value is not None else None
        except (TypeError, ValueError):
            continue
    return None


def _source(workflow: Workflow) -> str | list[dict[str, Any]]:
    return workflow.build() if isinstance(workflow, WorkflowBuilder) else workflow


def _submit(body: dict[str, Any], async_: bool, callback_url: str | None) -> dict[str, Any]:
    if async_:
        body["async"] = True
    if callback_url is not None:
        body["callbackUrl"] = callback_url
    return body


def _segment(value: str) -> str:
    return quote(value, safe="")


def _with_execution_id(source: str | list[dict[str, Any]], execution_id: str) -> str | list[dict[str, Any]]:
    """The workflow with ``executionId`` set on its (dialect A) ``beginExecution`` message."""
    text = isinstance(source, str)
    lines = source.splitlines() if text else list(source)
    for index, line in enumerate(lines):
        try:
            message = json.loads(line) if text else line
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "beginExecution":
            updated = {**message, "executionId": execution_id}
            lines[index] = json.dumps(updated) if text else updated
            return "\n".join(lines) if text else lines
    raise ValueError("execution_id needs a dialect-A workflow (a {\"type\": \"beginExecution\"} "
                     "message); in the legacy dialect the server makes the id")
