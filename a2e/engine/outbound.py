"""The outbound address guard for ApiCall (PROTOCOL §8, §10 "Permissions").

Each request (and each redirect hop) is checked twice: the literal host against the
agent's allowed hosts (:func:`check_target`, no I/O), then the addresses the host
resolves to (:meth:`OutboundGuard.check`). Under a wildcard entry (``*``,
``*.example.com``) a host is refused when *any* of its addresses is loopback,
private, link-local, CGNAT, unspecified, IPv4-mapped private, metadata or otherwise
not global; only an exact entry opens such a host.

The connection then goes to an address that was checked, never to a fresh DNS
answer: :class:`PinnedAdapter` (mounted on the HTTP client's session) connects to the
pinned IP while the Host header, TLS SNI and certificate check keep the name. A
request on that session without a pin matching its host is refused.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from a2e.engine.watchdog import WATCHED_POOLS
from a2e.errors import DataError, ExecutionError, OperationTimeout, PermissionDenied, ValidationError
from a2e.protocol.hosts import IPAddress, host_allowed, host_of, is_private_address, normalize_host

DEFAULT_PORTS = {"http": 80, "https": 443}

#: ``resolve(host, port)``: the addresses to connect to, in preference order.
Resolver = Callable[[str, int], Sequence[IPAddress]]


def resolve(host: str, port: int) -> list[IPAddress]:
    """The host's TCP addresses from the system resolver, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return list(dict.fromkeys(addresses))


def resolve_within(resolver: Resolver, host: str, port: int, timeout: float) -> list[IPAddress]:
    """``resolver(host, port)`` bounded by ``timeout`` seconds: an IP literal inline, a name
    on a daemon thread (a resolver that hangs is left behind; the attempt fails with
    OperationTimeout)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    answer: list[Any] = []
    worker = threading.Thread(target=lambda: answer.append(_try(resolver, host, port)),
                              name="a2e-resolve", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if not answer:
        raise OperationTimeout(f"API call to {host} timed out resolving the name",
                               details={"host": host})
    addresses = answer[0]
    if isinstance(addresses, BaseException):
        return []
    return list(addresses)


def _try(resolver: Resolver, host: str, port: int) -> Sequence[IPAddress] | BaseException:
    try:
        return resolver(host, port)
    except (OSError, UnicodeError) as exc:
        return exc


def check_target(url: str, allowed_hosts: Sequence[str]) -> str:
    """The host of an http(s) ``url`` that is on ``allowed_hosts``; PermissionDenied if not.

    Looks at the literal host only (no I/O): a private or loopback literal passes only
    through an exact entry.
    """
    try:
        host = host_of(url)
    except ValidationError as exc:
        raise DataError(f"API call URL is invalid: {exc.message}", details=exc.details) from None
    if not host_allowed(host, allowed_hosts):
        raise PermissionDenied(
            f"Host {host!r} is not on this agent's allowed hosts",
            details={"host": host},
            suggestions=["Ask an administrator to add the host to the agent's allowed_hosts"],
        )
    return host


def is_exact_entry(host: str, allowed_hosts: Sequence[str]) -> bool:
    """Whether ``host`` is named on the list itself, not only matched by a wildcard."""
    exact = [entry for entry in allowed_hosts if not entry.strip().startswith("*")]
    return host_allowed(host, exact)


@dataclass(frozen=True)
class Target:
    """A checked destination: the name, its port and the addresses it may be reached at."""

    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if DEFAULT_PORTS[self.scheme] == self.port else f"{name}:{self.port}"


class OutboundGuard:
    """Checks destinations and pins connections to the addresses it checked."""

    def __init__(self, resolver: Resolver | None = None) -> None:
        self._resolver = resolver

    def check(self, url: str, allowed_hosts: Sequence[str], timeout: float = 30.0) -> Target:
        """The checked destination of ``url``; PermissionDenied when it may not be reached.

        Name resolution takes at most ``timeout`` seconds (then OperationTimeout)."""
        host = check_target(url, allowed_hosts)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise DataError("API call URL has an invalid port", details={"url": url[:200]}) from None
        addresses = tuple(resolve_within(self._resolver or resolve, host, port, timeout))
        if not addresses:
            raise ExecutionError(f"API call failed: could not resolve {host}", details={"host": host})
        if not is_exact_entry(host, allowed_hosts) and any(map(is_private_address, addresses)):
            raise PermissionDenied(
                f"Host {host!r} resolves to a loopback, private, link-local or metadata address",
                details={"host": host},
                suggestions=["Only an exact allowed_hosts entry opens such a host"],
            )
        return Target(scheme, host, port, addresses)

    @contextmanager
    def pinned(self, target: Target) -> Iterator[None]:
        """Let requests to ``target`` through :class:`PinnedAdapter` in this context."""
        token = _pin.set(target)
        try:
            yield
        finally:
            _pin.reset(token)

    def install(self, session: requests.Session) -> None:
        """Route every http(s) request of ``session`` through a :class:`PinnedAdapter`."""
        adapter = PinnedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)


_pin: ContextVar[Target | None] = ContextVar("a2e_outbound_pin", default=None)
_address: ContextVar[IPAddress | None] = ContextVar("a2e_outbound_address", default=None)


class PinnedAdapter(HTTPAdapter):
    """Connects to the pinned target's addresses in turn, keeping the name for HTTP and TLS."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        target = _pin.get()
        parts = urlsplit(request.url or "")
        if (
            target is None
            or normalize_host(parts.hostname or "") != target.host
            or (parts.port or DEFAULT_PORTS.get(parts.scheme.lower())) != target.port
        ):
            raise PermissionDenied("Outbound request to a destination the guard did not check")
        request.headers["Host"] = target.host_header
        refused: requests.ConnectionError | None = None
        for address in target.addresses:
            token = _address.set(address)
            try:
                return super().send(request, *args, **kwargs)
            except requests.ConnectionError as exc:
                if not _not_connected(exc):
                    raise
                refused = exc  # nothing was sent: try the next checked address
            finally:
                _address.reset(token)
        assert refused is not None
        raise refused

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        address = _address.get()
        if address is None:
            raise PermissionDenied("Outbound request to a destination the guard did not check")
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = host_params["host"]
        host_params["host"] = str(address)
        return host_params, pool_kwargs


def _not_connected(exc: requests.ConnectionError) -> bool:
    """Whether the connection failed before any byte of the request was sent."""
    reason = exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else None
    return isinstance(reason, NewConnectionError) and not isinstance(exc, requests.Timeout)
