"""The guard and the pinned transport on their own: checks, pinning, fallback, TLS on the name."""

from __future__ import annotations

import ipaddress

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Response

from a2e.engine.http import HttpClient
from a2e.engine.outbound import OutboundGuard, Target
from a2e.errors import DataError, ExecutionError, PermissionDenied
from tests.outbound.tls import TestCA


def guard_with(answers: dict[str, list[str]], asked: list[str] | None = None) -> OutboundGuard:
    def resolver(host: str, port: int):
        if asked is not None:
            asked.append(host)
        if host not in answers:
            raise OSError("no such name")
        return [ipaddress.ip_address(address) for address in answers[host]]

    return OutboundGuard(resolver)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "0.0.0.0", "::", "::1", "::ffff:127.0.0.1", "fe80::1", "fc00::1",
    "fd00:ec2::254", "192.0.2.1", "224.0.0.1",
])
def test_wildcards_never_open_a_private_address(address):
    guard = guard_with({"api.example.com": [address]})
    for entries in (["*"], ["*.example.com"]):
        with pytest.raises(PermissionDenied, match="resolves to"):
            guard.check("https://api.example.com/x", entries)


def test_one_private_answer_among_public_ones_is_enough_to_refuse():
    guard = guard_with({"api.example.com": ["93.184.216.34", "10.0.0.7"]})
    with pytest.raises(PermissionDenied):
        guard.check("https://api.example.com/", ["*"])


def test_public_answers_become_the_pinned_target():
    guard = guard_with({"api.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    target = guard.check("https://API.example.com./v1", ["*.example.com"])
    assert target == Target("https", "api.example.com", 443, (
        ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("2606:2800:220:1::1")))
    assert target.host_header == "api.example.com"


def test_an_exact_entry_opens_a_private_address():
    guard = guard_with({"intranet.example.com": ["10.0.0.5"]})
    target = guard.check("http://intranet.example.com:8080/", ["*", "intranet.example.com"])
    assert target.addresses == (ipaddress.ip_address("10.0.0.5"),)
    assert target.host_header == "intranet.example.com:8080"


def test_unlisted_unresolvable_and_malformed_targets():
    guard = guard_with({})
    with pytest.raises(PermissionDenied, match="allowed hosts"):
        guard.check("https://evil.example.net/", ["api.example.com"])
    with pytest.raises(ExecutionError, match="could not resolve"):
        guard.check("https://nowhere.example.com/", ["*"])
    with pytest.raises(DataError, match="port"):
        guard.check("https://api.example.com:99999/", ["*"])
    with pytest.raises(PermissionDenied, match="scheme"):
        guard.check("ftp://api.example.com/", ["*"])


def test_the_connection_goes_to_the_checked_address_with_the_name_in_host(httpserver):
    asked: list[str] = []
    client = HttpClient(guard=guard_with({"pinned.test": ["127.0.0.1"]}, asked))
    httpserver.expect_request("/who").respond_with_handler(
        lambda request: Response(request.headers["Host"]))
    response = client.send("GET", f"http://pinned.test:{httpserver.port}/who", headers={}, body=None,
                           timeout=5, max_bytes=1000, allowed_hosts=["pinned.test"])
    assert response.status == 200
    assert response.body.decode() == f"pinned.test:{httpserver.port}"
    assert asked == ["pinned.test"]  # resolved once, by the guard only


def test_a_refused_address_falls_through_to_the_next_checked_one(httpserver):
    """127.0.0.2 is loopback too but nothing listens there: the request goes to 127.0.0.1."""
    client = HttpClient(guard=guard_with({"pair.test": ["127.0.0.2", "127.0.0.1"]}))
    httpserver.expect_request("/").respond_with_data("here")
    response = client.send("GET", f"http://pair.test:{httpserver.port}/", headers={}, body=None,
                           timeout=5, max_bytes=1000, allowed_hosts=["pair.test"])
    assert response.body == b"here"


def test_the_session_refuses_requests_the_guard_did_not_check(httpserver):
    client = HttpClient()
    with pytest.raises(PermissionDenied):
        client.session.get(httpserver.url_for("/"))
    assert len(httpserver.log) == 0


@pytest.fixture
def tls_server(tmp_path):
    ca = TestCA(tmp_path)
    servers: list[HTTPServer] = []

    def start(dns_name: str) -> HTTPServer:
        server = HTTPServer(host="127.0.0.1", port=0, ssl_context=ca.server_context(dns_name))
        server.start()
        servers.append(server)
        return server

    yield ca, start
    for server in servers:
        server.clear()
        server.stop()


def tls_client(ca: TestCA, name: str) -> HttpClient:
    session = requests.Session()
    session.verify = str(ca.bundle)
    return HttpClient(session, guard=guard_with({name: ["127.0.0.1"]}))


def test_tls_checks_the_certificate_against_the_name_not_the_address(tls_server):
    ca, start = tls_server
    server = start("pinned.test")
    server.expect_request("/").respond_with_json({"tls": True})
    response = tls_client(ca, "pinned.test").send(
        "GET", f"https://pinned.test:{server.port}/", headers={}, body=None,
        timeout=5, max_bytes=1000, allowed_hosts=["pinned.test"])
    assert response.content() == {"tls": True}


def test_tls_refuses_a_certificate_for_another_name(tls_server):
    ca, start = tls_server
    server = start("other.test")
    with pytest.raises(ExecutionError):
        tls_client(ca, "pinned.test").send(
            "GET", f"https://pinned.test:{server.port}/", headers={}, body=None,
            timeout=5, max_bytes=1000, allowed_hosts=["pinned.test"])
    assert len(server.log) == 0
