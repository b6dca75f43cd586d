"""Outbound fixtures: a resolver that knows test names, and a tripwire on real sockets."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import pytest

from a2e.engine import outbound


class FakeDns:
    """Answers for test names; any other name goes to the system resolver."""

    def __init__(self, real: Callable) -> None:
        self.answers: dict[str, list[str]] = {}
        self.asked: list[str] = []
        self._real = real

    def __call__(self, host: str, port: int):
        self.asked.append(host)
        if host in self.answers:
            return [ipaddress.ip_address(address) for address in self.answers[host]]
        return self._real(host, port)


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns(outbound.resolve)
    monkeypatch.setattr(outbound, "resolve", fake)
    return fake


class Tripwire(list):
    """Every address a socket connects to, and every name given to getaddrinfo."""

    def only_loopback(self) -> bool:
        """Nothing but loopback was contacted, and no ``.test`` name reached the system resolver."""
        for entry in self:
            verb, _, target = entry.partition(" ")
            if verb == "connect" and not ipaddress.ip_address(target.split("%")[0]).is_loopback:
                return False
            if verb == "resolve" and str(target).endswith(".test"):
                return False
        return True


@pytest.fixture
def tripwire(monkeypatch) -> Tripwire:
    seen = Tripwire()
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        if isinstance(address, tuple):
            seen.append(f"connect {address[0]}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        seen.append(f"resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return seen

