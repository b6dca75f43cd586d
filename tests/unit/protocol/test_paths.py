"""Data paths: parsing, reading, writing, templates and references (PROTOCOL §2)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2e.errors import DataError
from a2e.protocol.paths import (
    format_path,
    parse_path,
    path_covers,
    read_path,
    referenced_paths,
    render_template,
    resolve_refs,
    write_path,
)

DATA = {
    "workflow": {
        "users": [{"name": "Ada", "id": 7}, {"name": "Bob", "id": 8}],
        "host": "api.example.com",
        "counts": {"0": "zero-key", "007": "bond"},
        "flag": None,
    },
    "loop": {"item": {"id": 3}, "index": 2},
    "store": {"prefs": {"lang": "en"}},
}


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("/workflow/users", ("workflow", "users")),
        ("/workflow/users[0]", ("workflow", "users", 0)),
        ("/workflow/users/0", ("workflow", "users", 0)),
        ("/workflow/users[0].name", ("workflow", "users", 0, "name")),
        ("/workflow/users/0/name", ("workflow", "users", 0, "name")),
        ("/workflow/m[1][2]", ("workflow", "m", 1, 2)),
        ("/workflow/active-users", ("workflow", "active-users")),
        ("/workflow/007", ("workflow", "007")),
        ("/store/my_key", ("store", "my_key")),
    ],
)
def test_parse_path(path: str, segments: tuple) -> None:
    assert parse_path(path) == segments


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "workflow/x",
        "/a//b",
        "/a/",
        "/a b",
        "/a[x]",
        "/a[0",
        "/[0]",
        "/a.",
        "/a{b}",
        5,
        None,
        "/" + "a" * 1000,
    ],
)
def test_parse_path_rejects_malformed(path: object) -> None:
    with pytest.raises(DataError, match="malformed path"):
        parse_path(path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/workflow/users[1].name", "Bob"),
        ("/workflow/users/1/name", "Bob"),
        ("/workflow/users/0", {"name": "Ada", "id": 7}),
        ("/workflow/counts/0", "zero-key"),
        ("/workflow/counts[0]", "zero-key"),
        ("/workflow/counts/007", "bond"),
        ("/workflow/flag", None),
        ("/loop/index", 2),
        ("/store/prefs.lang", "en"),
    ],
)
def test_read_path(path: str, value: object) -> None:
    assert read_path(DATA, path) == value


@pytest.mark.parametrize(
    "path",
    [
        "/workflow/missing",
        "/workflow/users[2]",
        "/workflow/users/name",
        "/workflow/host/x",
        "/nothing",
        "/workflow/flag/x",
    ],
)
def test_read_path_missing_raises_naming_the_path(path: str) -> None:
    with pytest.raises(DataError, match=re.escape(f"path {path} not found")) as raised:
        read_path(DATA, path)
    assert raised.value.details == {"path": path}


def test_write_path_creates_objects_and_replaces_list_items() -> None:
    data: dict = {"workflow": {"xs": [1, 2]}}
    write_path(data, "/workflow/a/b.c", 1)
    write_path(data, "/workflow/xs[1]", 9)
    write_path(data, "/workflow/xs/0", 8)
    assert data == {"workflow": {"xs": [8, 9], "a": {"b": {"c": 1}}}}


@pytest.mark.parametrize(
    "path", ["/workflow/xs[2]", "/workflow/n/x", "/workflow/xs/name", "/workflow/xs[5].a"]
)
def test_write_path_refuses_impossible_places(path: str) -> None:
    with pytest.raises(DataError, match="path"):
        write_path({"workflow": {"xs": [1, 2], "n": 3}}, path, 0)


def test_render_template() -> None:
    text = "https://{/workflow/host}/users/{/workflow/users[0].id}?q={/workflow/users/1}&b={/workflow/flag}"
    assert render_template(text, DATA) == 'https://api.example.com/users/7?q={"name":"Bob","id":8}&b=null'


@pytest.mark.parametrize(
    "text", ["{not a path}", "{ /workflow/host}", "{/workflow/a b}", "{/", "plain", "{}", "a}{b"]
)
def test_render_template_leaves_literals(text: str) -> None:
    assert render_template(text, DATA) == text


def test_render_template_missing_path_is_data_error() -> None:
    with pytest.raises(DataError, match="path /workflow/nope not found"):
        render_template("x{/workflow/nope}", DATA)


def test_render_template_encode() -> None:
    data = {"workflow": {"q": "a b/c"}}
    assert (
        render_template("/s?q={/workflow/q}", data, encode=lambda s: s.replace(" ", "%20")) == "/s?q=a%20b/c"
    )


def test_resolve_refs_deep_copies_and_substitutes() -> None:
    value = {
        "Authorization": {"credentialRef": {"id": "tok"}},
        "user": {"path": "/workflow/users/0"},
        "greeting": "hi {/workflow/users[1].name}",
        "list": [{"path": "/loop/index"}, "literal", 3, True, None],
        "notRef": {"path": 5},
        "{/workflow/host}": "keys are not rendered",
    }
    resolved = resolve_refs(value, DATA)
    assert resolved == {
        "Authorization": {"credentialRef": {"id": "tok"}},
        "user": {"name": "Ada", "id": 7},
        "greeting": "hi Bob",
        "list": [2, "literal", 3, True, None],
        "notRef": {"path": 5},
        "{/workflow/host}": "keys are not rendered",
    }
    resolved["user"]["name"] = "changed"
    resolved["Authorization"]["credentialRef"]["id"] = "changed"
    assert DATA["workflow"]["users"][0]["name"] == "Ada"
    assert value["Authorization"] == {"credentialRef": {"id": "tok"}}


def test_referenced_paths() -> None:
    value = {
        "a": {"path": "/workflow/x"},
        "b": ["{/workflow/y} {/loop/item}"],
        "c": {"credentialRef": {"id": "{/z}"}},
    }
    assert list(referenced_paths(value)) == ["/workflow/x", "/workflow/y", "/loop/item"]


@pytest.mark.parametrize(
    ("written", "read", "covered"),
    [
        ("/workflow/users", "/workflow/users[0].name", True),
        ("/workflow/users", "/workflow/users", True),
        ("/workflow/users/0/name", "/workflow/users", True),
        ("/workflow/users[0]", "/workflow/users/0/id", True),
        ("/workflow/users", "/workflow/users2", False),
        ("/workflow/a/b", "/workflow/a/c", False),
    ],
)
def test_path_covers(written: str, read: str, covered: bool) -> None:
    assert path_covers(written, read) is covered


def test_format_path_round_trips() -> None:
    assert format_path(parse_path("/workflow/users[0].name")) == "/workflow/users/0/name"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    data=st.dictionaries(st.sampled_from(["workflow", "loop", "0", "a"]), json_values, max_size=3),
    path=st.text(max_size=30),
)
def test_read_path_returns_value_or_data_error(data: dict, path: str) -> None:
    try:
        read_path(data, path)
    except DataError:
        pass


@given(
    data=st.dictionaries(st.sampled_from(["workflow", "a"]), json_values, max_size=2),
    path=st.text(max_size=30),
)
def test_write_then_read_round_trips(data: dict, path: str) -> None:
    try:
        write_path(data, path, "v")
    except DataError:
        return
    assert read_path(data, path) == "v"


@given(text=st.text(max_size=40))
def test_render_template_only_raises_data_error(text: str) -> None:
    try:
        render_template(text, DATA)
    except DataError:
        pass
