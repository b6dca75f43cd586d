"""A secret an ApiCall sends is scrubbed out of the response before the run holds it:
an echoing host, then StoreData, EncodeDecode, ExtractText and a later run find nothing."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from sqlalchemy import select
from werkzeug import Response

from a2e.engine.scrub import Scrubber, derived_forms
from a2e.store.models import Base
from tests.api.workflow_helpers import jsonl, op
from tests.helpers import auth

TOKEN = "tok-9f8e7d6c5b4a-secret"
SECRET = f"Bearer {TOKEN}"
EXECUTE = "/api/v1/workflows/execute"


def forms_of_interest() -> list[str]:
    """What a later operation could turn the secret into, and what we search for."""
    raw = TOKEN.encode()
    return [TOKEN, base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="),
            raw.hex(), raw.hex().upper(), quote(SECRET, safe=""), base64.b64encode(SECRET.encode()).decode()]


def echo(request):
    """Everything about the request, raw and encoded, in every place a body can hold it."""
    authorization = request.headers.get("Authorization", "")
    token = authorization.removeprefix("Bearer ")
    body = {
        "headers": dict(request.headers),
        authorization: "as a key",
        "b64": base64.b64encode(authorization.encode()).decode(),
        "b64_token": base64.b64encode(token.encode()).decode().rstrip("="),
        "b64_inside": base64.b64encode(json.dumps({"auth": authorization}).encode()).decode(),
        "hex": token.encode().hex(),
        "url": quote(authorization, safe=""),
        "text": f"you sent: {authorization}!",
        "body": request.get_data(as_text=True),
    }
    return Response(json.dumps(body), content_type="application/json",
                    headers={"X-Echo": authorization})


def everything_stored(db) -> str:
    dump = []
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name != "credentials":
                dump.extend(repr(tuple(row)) for row in session.execute(select(table)))
    return "\n".join(dump)


@pytest.fixture
def admin(make_agent):
    return make_agent("root", admin=True)


def test_derived_forms_cover_the_token_and_its_encodings():
    forms = derived_forms(SECRET)
    for form in forms_of_interest():
        assert form in forms, form
    scrubber = Scrubber()
    scrubber.add(SECRET)
    prefixed = base64.b64encode(b"xy" + TOKEN.encode() + b"z").decode()
    assert TOKEN.encode() not in base64.b64decode(scrubber.scrub(prefixed).replace("[REDACTED]", "") + "==")


def test_an_echoed_secret_never_enters_the_run(client, admin, make_agent, db, httpserver, tmp_path):
    make_agent("mallory")
    key = make_agent("eve")
    put = client.put("/api/v1/admin/agents/eve/credentials/api-token", headers=auth(admin),
                     json={"value": SECRET})
    assert put.status_code == 200, put.json
    httpserver.expect_request("/echo").respond_with_handler(echo)
    url = httpserver.url_for("/echo")
    first = jsonl(
        op("call", "ApiCall", method="POST", url=url, outputPath="/workflow/echo",
           headers={"Authorization": {"credentialRef": {"id": "api-token"}}},
           body={"copy": {"credentialRef": {"id": "api-token"}}}),
        op("keep", "StoreData", inputPath="/workflow/echo", storage="db", key="echoed"),
        op("unurl", "EncodeDecode", action="decode", encoding="url",
           inputPath="/workflow/echo/url", outputPath="/workflow/plain"),
        op("grab", "ExtractText", inputPath="/workflow/echo/text", pattern="sent: (.*)!",
           outputPath="/workflow/grabbed"),
        op("again", "EncodeDecode", action="encode", encoding="base64",
           inputPath="/workflow/echo", outputPath="/workflow/all64"),
    )
    ran = client.post(EXECUTE, headers=auth(key), json={"workflow": first})
    assert ran.json["status"] == "succeeded", ran.json
    assert httpserver.log[0][0].headers["Authorization"] == SECRET  # it was sent
    assert ran.json["results"]["unurl"] == "[REDACTED]"
    assert ran.json["results"]["grab"] == [["[REDACTED]"]]

    later = jsonl(
        op("read", "EncodeDecode", action="encode", encoding="hex",
           inputPath="/store/echoed", outputPath="/workflow/hexed"),
        op("decode", "EncodeDecode", action="decode", encoding="url",
           inputPath="/store/echoed/url", outputPath="/workflow/unquoted"),
    )
    again = client.post(EXECUTE, headers=auth(key), json={"workflow": later})
    assert again.json["status"] == "succeeded", again.json
    # what was base64 or hex of the secret no longer decodes to it (nor at all)
    undecodable = client.post(EXECUTE, headers=auth(key), json={"workflow": jsonl(
        op("unb64", "EncodeDecode", action="decode", encoding="base64",
           inputPath="/store/echoed/b64_inside", outputPath="/workflow/plain"))})
    assert undecodable.json["error"]["type"] == "DataError"
    stored = client.get("/api/v1/store/echoed", headers=auth(key))
    assert stored.status_code == 200
    runs = [client.get(f"/api/v1/executions/{body['execution_id']}", headers=auth(key))
            for body in (ran.json, again.json)]

    places = [ran.get_data(as_text=True), again.get_data(as_text=True), stored.get_data(as_text=True),
              undecodable.get_data(as_text=True),
              *(r.get_data(as_text=True) for r in runs), everything_stored(db),
              (tmp_path / "logs" / "a2e.log").read_text(encoding="utf-8")]
    for place in places:
        for form in forms_of_interest():
            assert form not in place, (form, place[:300])
    assert TOKEN.encode() not in base64.b64decode(ran.json["results"]["again"])
    assert TOKEN.encode() not in bytes.fromhex(again.json["results"]["read"])


@pytest.mark.parametrize("secret", ["Basic dXNlcjpwYXNz-long", 'Bearer with "quotes" and \\ slash', "12345678"])
def test_the_scrub_replaces_strings_and_keys_and_leaves_other_values(secret):
    scrubber = Scrubber()
    scrubber.add(secret)
    token = secret.split(" ", 1)[-1]
    value = {"n": 12345678, "list": [f"x{secret}y", {token: True}], "none": None, "ok": "plain"}
    scrubbed = scrubber.scrub(value)
    assert scrubbed["n"] == 12345678 and scrubbed["none"] is None and scrubbed["ok"] == "plain"
    assert scrubbed["list"][0] == "x[REDACTED]y"
    assert scrubbed["list"][1] == {"[REDACTED]": True}
    assert scrubber.scrub({"untouched": [1, "a"]}) == {"untouched": [1, "a"]}
