import pytest

from a2e.engine.ops import format_text
from a2e.errors import DataError, ExecutionError

DATA = {"name": "Alice", "points": 100, "ratio": 0.5, "ok": True, "none": None,
        "user": {"name": "Bob", "tags": ["a", "b"]}, "items": ["first", {"id": 7}]}


def fmt(make_ctx, template, data=DATA):
    ctx = make_ctx({"/workflow/data": data})
    return format_text.run(ctx, {"template": template, "inputPath": "/workflow/data"})


@pytest.mark.parametrize(("template", "expected"), [
    ("Hello {name}, you have {points} points", "Hello Alice, you have 100 points"),
    ("{user.name} / {items.0} / {items.1.id} / {user.tags.1}", "Bob / first / 7 / b"),
    ("{ratio} {ok} {none}", "0.5 true null"),
    ("{user}", '{"name":"Bob","tags":["a","b"]}'),
    ("{{name}} is {name}; }}{{", "{name} is Alice; }{"),
    ("{ name }", "Alice"),
    ("no placeholders", "no placeholders"),
    ("", ""),
])
def test_rendering(make_ctx, template, expected):
    assert fmt(make_ctx, template) == expected


def test_list_root(make_ctx):
    assert fmt(make_ctx, "{0}-{1}", ["x", "y"]) == "x-y"


def test_without_input_path(make_ctx):
    assert format_text.run(make_ctx(), {"template": "plain {{text}}"}) == "plain {text}"
    with pytest.raises(DataError, match="no inputPath"):
        format_text.run(make_ctx(), {"template": "Hi {name}"})


@pytest.mark.parametrize(("template", "message"), [
    ("Hi {nickname}", "field \"nickname\" not found"),
    ("{user.age}", "field \"user.age\" not found"),
    ("{items.5}", "not found"),
    ("{items.-1}", "not found"),
    ("{name.upper}", "not found"),
    ("{}", "empty placeholder"),
    ("Hi {name", "unmatched '{'"),
    ("Hi name}", "unmatched '}'"),
])
def test_errors(make_ctx, template, message):
    with pytest.raises(DataError, match=message) as caught:
        fmt(make_ctx, template)
    assert caught.value.message.startswith("FormatText:")


@pytest.mark.parametrize("template", ["{name.__class__}", "{__class__}", "{name.__class__.__mro__}",
                                      "{0.__class__}", "{user.__dict__}", "{name!r}", "{points:>10}"])
def test_python_format_syntax_is_inert(make_ctx, template):
    with pytest.raises(DataError, match="not found"):
        fmt(make_ctx, template)


def test_missing_field_message_names_field_and_is_bounded(make_ctx):
    with pytest.raises(DataError) as caught:
        fmt(make_ctx, "{" + "x" * 5000 + "}")
    assert len(caught.value.message) < 300 and caught.value.details["field"].startswith("xxx")


def test_output_is_bounded(make_ctx):
    with pytest.raises(ExecutionError, match="exceed"):
        fmt(make_ctx, "{big}" * 11, {"big": "x" * (1024 * 1024)})
