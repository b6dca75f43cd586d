"""Outbound safety through the execute endpoint: under ``*`` nothing private is reached."""

from __future__ import annotations

import pytest
from werkzeug import Response

from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth


def execute(client, key, url: str, *, validate: bool = True):
    workflow = jsonl(op("call", "ApiCall", method="GET", url=url, outputPath="/workflow/out"))
    return client.post("/api/v1/workflows/execute", headers=auth(key),
                       json={"workflow": workflow, "validate": validate})


def permission_error(response) -> dict:
    """The PermissionError of a refused workflow (403) or of a failed run (200)."""
    assert response.status_code in (200, 403), response.json
    if response.status_code == 200:
        assert response.json["status"] == "failed", response.json
    assert response.json["error"]["type"] == "PermissionError", response.json
    return response.json["error"]


PRIVATE_URLS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://[::1]:{port}/",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://0.0.0.0:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://2130706433:{port}/",
]


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize("template", PRIVATE_URLS)
def test_private_literals_are_refused_under_a_wildcard(client, make_agent, httpserver, tripwire,
                                                       template, validate):
    agent = make_agent("wild", hosts=("*",))
    permission_error(execute(client, agent, template.format(port=httpserver.port), validate=validate))
    assert len(httpserver.log) == 0
    assert tripwire.only_loopback(), tripwire


def test_a_name_resolving_to_a_private_address_is_refused(client, make_agent, httpserver, dns,
                                                          tripwire):
    agent = make_agent("wild", hosts=("*",))
    for name, address in [("internal.test", "10.1.2.3"), ("loop.test", "127.0.0.1"),
                          ("meta.test", "169.254.169.254"), ("mixed.test", "8.8.8.8"),
                          ("mapped.test", "::ffff:10.0.0.1")]:
        dns.answers[name] = [address] if name != "mixed.test" else ["8.8.8.8", "192.168.1.1"]
        response = execute(client, agent, f"http://{name}:{httpserver.port}/")
        assert response.status_code == 200  # the literal name passes validation
        assert "resolves to" in permission_error(response)["message"]
        assert address not in response.get_data(as_text=True)
    assert len(httpserver.log) == 0
    assert tripwire.only_loopback(), tripwire


def test_a_redirect_to_a_private_address_is_refused(client, make_agent, httpserver, dns, tripwire):
    """The first hop is open through the exact entry ``localhost``; the hops are not."""
    agent = make_agent("wild", hosts=("*", "localhost"))
    dns.answers["internal.test"] = ["127.0.0.1"]
    targets = {"/to-literal": f"http://127.0.0.1:{httpserver.port}/secret",
               "/to-name": f"http://internal.test:{httpserver.port}/secret"}
    for path, location in targets.items():
        httpserver.expect_request(path).respond_with_response(
            Response(status=302, headers={"Location": location}))
    httpserver.expect_request("/secret").respond_with_data("must not be reached")
    for path in targets:
        permission_error(execute(client, agent, httpserver.url_for(path)))
    assert sorted(request.path for request, _ in httpserver.log) == sorted(targets)
    assert tripwire.only_loopback(), tripwire


@pytest.mark.parametrize("entry, host", [("127.0.0.1", "127.0.0.1"), ("localhost", "localhost")])
def test_an_exact_entry_opens_the_local_server(client, make_agent, httpserver, entry, host):
    agent = make_agent("local", hosts=("*", entry))
    httpserver.expect_request("/ok").respond_with_json({"reached": True})
    response = execute(client, agent, f"http://{host}:{httpserver.port}/ok")
    assert response.status_code == 200
    assert response.json["status"] == "succeeded", response.json
    assert response.json["results"]["call"] == {"reached": True}
