"""ApiCall's transport: one request, redirects followed by hand, the body read up to a cap.

Kept apart from the operation so the outbound address guard lives here; ApiCall repeats
:meth:`HttpClient.send` under its retry policy. Error messages never quote request headers
or bodies (they may carry secrets).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from urllib3.exceptions import ReadTimeoutError

from a2e.engine.outbound import OutboundGuard
from a2e.engine.watchdog import WATCHDOG, Watch
from a2e.errors import ExecutionError, OperationTimeout, PermissionDenied
from a2e.protocol.hosts import host_allowed

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers kept when a redirect leaves the origin; the rest (credentials above all) are dropped.
CROSS_ORIGIN_HEADERS = frozenset({"accept", "accept-language", "user-agent"})
CHUNK_BYTES = 64 * 1024


class ConnectionFailed(ExecutionError):
    """The server could not be reached (retryable, as timeouts are)."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes
    url: str

    def content(self) -> Any:
        """The parsed JSON body when the content type says JSON and it parses, else text."""
        mimetype, _, params = self.headers.get("content-type", "").partition(";")
        mimetype = mimetype.strip().lower()
        charset = _charset(params) or "utf-8"
        try:
            text = self.body.decode(charset, errors="replace")
        except LookupError:
            text = self.body.decode("utf-8", errors="replace")
        if mimetype == "application/json" or mimetype.endswith("+json"):
            try:
                return json.loads(text)
            except ValueError:
                pass
        return text


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: Mapping[str, str]
    body: Any


class HttpClient:
    """Sends ApiCall requests through one shared ``requests.Session``."""

    def __init__(self, session: requests.Session | None = None, max_redirects: int = 5,
                 guard: OutboundGuard | None = None) -> None:
        self.session = session or requests.Session()
        self.session.trust_env = False
        self.max_redirects = max_redirects
        self.guard = guard or OutboundGuard()
        self.guard.install(self.session)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Any,
        timeout: float,
        max_bytes: int,
        allowed_hosts: Sequence[str],
        credentials: Mapping[str, tuple[str, ...]] | None = None,
    ) -> HttpResponse:
        """One attempt: follow up to ``max_redirects`` redirects, each host checked.

        ``timeout`` (seconds) bounds the whole attempt as wall time: name resolution,
        connect, request, status line, headers and body of every hop. Any status is returned; transport
        failures raise OperationTimeout, ConnectionFailed, ExecutionError or PermissionDenied.

        ``credentials`` maps each secret the request holds to the hosts it is bound to: every
        hop's host is checked against them (PermissionDenied), and a redirect to another
        origin drops the headers that could hold one and is refused when the body holds one.
        """
        return self._follow(_Request(method, url, headers, body), timeout, max_bytes, allowed_hosts,
                            credentials or {})

    def _follow(self, request: _Request, timeout: float, max_bytes: int,
                allowed_hosts: Sequence[str], credentials: Mapping[str, tuple[str, ...]]) -> HttpResponse:
        deadline = time.monotonic() + timeout
        for _ in range(self.max_redirects + 1):
            target = self.guard.check(request.url, allowed_hosts, _remaining(deadline, request.url))
            _check_bindings(request, target.host, credentials)
            with self.guard.pinned(target), WATCHDOG.watch(deadline) as watch:
                response = self._request(request, target.host, deadline, max_bytes, watch)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                return response
            request = _redirected(request, response.status, urljoin(request.url, location), credentials)
        raise ExecutionError(
            f"API call failed: more than {self.max_redirects} redirects",
            details={"maxRedirects": self.max_redirects},
        )

    def _request(self, request: _Request, host: str, deadline: float, max_bytes: int,
                 watch: Watch) -> HttpResponse:
        """One hop; ``watch`` shuts its socket when ``deadline`` passes, whatever it waits on."""
        remaining = _remaining(deadline, request.url)
        payload = _payload(request.body)
        try:
            with self.session.request(
                request.method, request.url, headers=dict(request.headers), timeout=remaining,
                stream=True, allow_redirects=False, **payload,
            ) as raw:
                redirect = raw.status_code in REDIRECT_STATUSES and "location" in raw.headers
                body = b"" if redirect else _read_capped(raw, max_bytes, deadline, host)
                if watch.fired:
                    raise _timed_out(host)
                return HttpResponse(
                    status=raw.status_code,
                    reason=_phrase(raw.status_code) or raw.reason or "",
                    headers={k.lower(): v for k, v in raw.headers.items()},
                    body=body,
                    url=request.url,
                )
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if watch.fired or isinstance(exc, requests.Timeout) or (
                exc.args and isinstance(exc.args[0], ReadTimeoutError)
            ):
                raise _timed_out(host) from None
            if isinstance(exc, requests.ConnectionError):
                raise ConnectionFailed(f"API call failed: could not connect to {host}") from None
            raise ExecutionError(f"API call failed: invalid request to {host}") from None


def _remaining(deadline: float, url: str) -> float:
    """Seconds left before ``deadline``; OperationTimeout when none are."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OperationTimeout(f"API call to {urlsplit(url).hostname or url[:100]} timed out")
    return remaining


def _timed_out(host: str) -> OperationTimeout:
    return OperationTimeout(f"API call to {host} timed out: the attempt's wall-time limit passed",
                            details={"host": host})


def _redirected(request: _Request, status: int, url: str,
                credentials: Mapping[str, tuple[str, ...]]) -> _Request:
    """The next request of a redirect (303, and 301/302 after a POST, become a bodyless GET).

    To another origin only :data:`CROSS_ORIGIN_HEADERS` go along, and a body that holds a
    credential (a 307/308 keeps the body) makes the redirect a PermissionDenied."""
    method, body, headers = request.method, request.body, dict(request.headers)
    if status == 303 or (status in (301, 302) and method == "POST"):
        method, body = ("HEAD" if method == "HEAD" else "GET"), None
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    if _origin(url) != _origin(request.url):
        headers = {k: v for k, v in headers.items() if k.lower() in CROSS_ORIGIN_HEADERS}
        if any(_holds(body, secret) for secret in credentials):
            raise PermissionDenied(
                f"API call refused a {status} redirect to another origin ({_origin_text(url)}): "
                "the request body holds a credential",
                details={"statusCode": status},
                suggestions=["Call the final URL directly, or send the credential in a header "
                             "(headers are dropped on a redirect to another origin)"],
            )
    return _Request(method, url, headers, body)


def _check_bindings(request: _Request, host: str, credentials: Mapping[str, tuple[str, ...]]) -> None:
    """PermissionDenied when the request holds a credential bound to hosts other than ``host``."""
    for secret, hosts in credentials.items():
        if hosts and not host_allowed(host, hosts) and (
            _holds(request.body, secret) or any(_holds(v, secret) for v in request.headers.values())
        ):
            raise PermissionDenied(
                f"A credential of this request is bound to other hosts than {host!r}",
                details={"host": host},
                suggestions=["Ask an administrator to add the host to the credential's hosts"],
            )


def _holds(value: Any, secret: str) -> bool:
    """Whether ``secret`` appears in any string of ``value``."""
    if isinstance(value, str):
        return secret in value
    if isinstance(value, Mapping):
        return any(_holds(k, secret) or _holds(v, secret) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds(item, secret) for item in value)
    return False


def _origin_text(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _payload(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if isinstance(body, str):
        return {"data": body.encode("utf-8")}
    return {"json": body}


def _read_capped(raw: requests.Response, max_bytes: int, deadline: float, host: str) -> bytes:
    too_large = ExecutionError(
        f"API response from {host} is larger than {max_bytes} bytes",
        details={"maxResponseBytes": max_bytes},
    )
    declared = raw.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    for chunk in raw.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        if time.monotonic() > deadline:
            raise _timed_out(host)
        chunks.append(chunk)
    return b"".join(chunks)


def _charset(params: str) -> str | None:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
