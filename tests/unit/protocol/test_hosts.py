"""Literal host checks: URL hosts, private literals, allowed-host lists (PROTOCOL §8, §10)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2e.errors import PermissionDenied, ValidationError
from a2e.protocol.hosts import host_allowed, host_of, is_private_address, is_private_literal


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://API.Example.com:8443/x?y=1", "api.example.com"),
        ("http://[::1]:8080/", "::1"),
        ("http://[FD00:EC2::254]/latest", "fd00:ec2::254"),
        ("http://user:p%40ss@h.example.com/", "h.example.com"),
        ("http://api.example.com./", "api.example.com"),
        ("HTTP://127.0.0.1", "127.0.0.1"),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "gopher://x", "example.com/x"])
def test_host_of_refuses_other_schemes(url: str) -> None:
    with pytest.raises(PermissionDenied, match="scheme"):
        host_of(url)


@pytest.mark.parametrize(
    "url",
    [
        "http:///x",
        "https://",
        "http://a b/",
        "http://evil\\@good.com/",
        "http://a..b/",
        "http://[zz]/",
        "http://h\t.com/",
        5,
        None,
    ],
)
def test_host_of_refuses_urls_without_a_valid_host(url: object) -> None:
    with pytest.raises(ValidationError):
        host_of(url)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LOCALHOST.",
        "api.localhost",
        "127.0.0.1",
        "127.5.6.7",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::",
        "::1",
        "[::1]",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",
        "64:ff9b::a9fe:a9fe",
        "2130706433",
        "0x7f.1",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "0",
    ],
)
def test_private_literals(host: str) -> None:
    assert is_private_literal(host)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "8.8.8.8",
        "::ffff:8.8.8.8",
        "2606:4700:4700::1111",
        "1.2.3.4.5",
        "256.1.1.1",
        "localhost.example.com",
    ],
)
def test_public_or_name_literals(host: str) -> None:
    assert not is_private_literal(host)


def test_is_private_address_on_resolved_addresses() -> None:
    assert is_private_address(ipaddress.ip_address("10.1.2.3"))
    assert is_private_address(ipaddress.ip_address("::ffff:10.1.2.3"))
    assert not is_private_address(ipaddress.ip_address("93.184.216.34"))


@pytest.mark.parametrize(
    ("host", "allowed", "ok"),
    [
        ("api.example.com", ["API.example.com"], True),
        ("api.example.com", ["other.com"], False),
        ("a.b.example.com", ["*.example.com"], True),
        ("example.com", ["*.example.com"], False),
        ("badexample.com", ["*.example.com"], False),
        ("anything.org", ["*"], True),
        ("8.8.8.8", ["*"], True),
        ("127.0.0.1", ["*"], False),
        ("localhost", ["*"], False),
        ("x.localhost", ["*.localhost"], False),
        ("169.254.169.254", ["*"], False),
        ("2130706433", ["*"], False),
        ("127.0.0.1", ["127.0.0.1"], True),
        ("localhost", ["localhost"], True),
        ("::1", ["[::1]"], True),
        ("::1", ["0:0:0:0:0:0:0:1"], True),
        ("127.1", ["127.0.0.1"], True),
        ("10.0.0.1", ["127.0.0.1", "*"], False),
        ("api.example.com", [], False),
    ],
)
def test_host_allowed(host: str, allowed: list[str], ok: bool) -> None:
    assert host_allowed(host, allowed) is ok


@given(st.text(max_size=40))
def test_host_of_raises_only_protocol_errors(url: str) -> None:
    try:
        host = host_of(url)
    except (ValidationError, PermissionDenied):
        return
    assert host == host.lower()
    is_private_literal(host)
    host_allowed(host, ["*", "*.example.com"])
