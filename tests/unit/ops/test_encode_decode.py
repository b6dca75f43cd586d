import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from a2e.engine.ops import encode_decode
from a2e.errors import DataError

ENCODINGS = ["base64", "base64url", "url", "hex", "html"]


def code(make_ctx, value, action, encoding):
    ctx = make_ctx({"/workflow/in": value})
    return encode_decode.run(ctx, {"inputPath": "/workflow/in", "action": action, "encoding": encoding})


@pytest.mark.parametrize(("encoding", "plain", "encoded"), [
    ("base64", "Hello World", "SGVsbG8gV29ybGQ="),
    ("base64", "é€", "w6nigqw="),
    ("base64url", "¿??>", "wr8_Pz4="),
    ("url", "a b&c=d/é", "a%20b%26c%3Dd%2F%C3%A9"),
    ("hex", "Hi!", "486921"),
    ("html", "<a href=\"x\">Tom & 'Jerry'</a>",
     "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/a&gt;"),
])
def test_examples(make_ctx, encoding, plain, encoded):
    assert code(make_ctx, plain, "encode", encoding) == encoded
    assert code(make_ctx, encoded, "decode", encoding) == plain


def test_non_string_values_encode_their_json(make_ctx):
    assert code(make_ctx, {"a": [1, True, None]}, "encode", "base64") == "eyJhIjpbMSx0cnVlLG51bGxdfQ=="
    assert code(make_ctx, 42, "encode", "hex") == "3432"


@pytest.mark.parametrize(("encoding", "encoded", "plain"), [
    ("base64", "SGVsbG8gV29ybGQ", "Hello World"),
    ("base64", "SGVs\nbG8g V29y bGQ=", "Hello World"),
    ("base64url", "wr8_Pz4", "¿??>"),
    ("hex", "48 69", "Hi"),
    ("url", "a+b%2", "a+b%2"),
    ("html", "&lt;&amp;&copy;&#169;", "<&©©"),
])
def test_lenient_decoding(make_ctx, encoding, encoded, plain):
    assert code(make_ctx, encoded, "decode", encoding) == plain


@pytest.mark.parametrize(("encoding", "encoded", "message"), [
    ("base64", "abc*", "not valid base64"),
    ("base64", "a", "not valid base64"),
    ("base64", "éé==", "not valid base64"),
    ("base64", "/w==", "not UTF-8"),
    ("base64url", "_w", "not UTF-8"),
    ("hex", "4g", "not valid hex"),
    ("hex", "ff", "not UTF-8"),
    ("url", "%ff", "not UTF-8"),
])
def test_invalid_input(make_ctx, encoding, encoded, message):
    with pytest.raises(DataError, match=message) as caught:
        code(make_ctx, encoded, "decode", encoding)
    assert caught.value.message.startswith("EncodeDecode:")


def test_error_messages_truncate_the_input(make_ctx):
    with pytest.raises(DataError) as caught:
        code(make_ctx, "*" * 100_000, "decode", "base64")
    assert len(caught.value.message) < 300


@pytest.mark.parametrize(("value", "action", "encoding", "message"), [
    (5, "decode", "base64", "expected a string"),
    ("x", "encrypt", "base64", "unknown action"),
    ("x", "encode", "rot13", "unknown encoding"),
    ("\ud800", "encode", "base64", "lone surrogate"),
])
def test_bad_requests(make_ctx, value, action, encoding, message):
    with pytest.raises(DataError, match=message):
        code(make_ctx, value, action, encoding)


@given(st.text(), st.sampled_from(ENCODINGS))
def test_round_trip(make_ctx, text, encoding):
    assert code(make_ctx, code(make_ctx, text, "encode", encoding), "decode", encoding) == text


@given(st.binary(), st.sampled_from(["base64", "base64url", "hex", "url"]))
def test_arbitrary_input_decodes_or_fails_cleanly(make_ctx, raw, encoding):
    with contextlib.suppress(DataError):
        assert isinstance(code(make_ctx, raw.decode("latin-1"), "decode", encoding), str)
