"""EncodeDecode: text to and from base64, base64url, URL percent-encoding, hex and HTML.

Text is UTF-8. Encoding a non-string value encodes its compact JSON. Decoding tolerates
missing base64 padding and whitespace; ``url`` is RFC 3986 percent-encoding (``+`` stays
``+``); decoded bytes that are not UTF-8 are a DataError.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote

from a2e.engine.ops._common import Context, compact_json, data_error, preview, read_string
from a2e.protocol.catalog import OpSpec, in_path, one_spelling, opt, out_path, req

OP = "EncodeDecode"
ACTIONS = ("encode", "decode")


def _unbase64(text: str, altchars: bytes | None) -> bytes:
    compact = "".join(text.split())
    return base64.b64decode(compact + "=" * (-len(compact) % 4), altchars=altchars, validate=True)


ENCODERS: dict[str, Callable[[str], str]] = {
    "base64": lambda text: base64.b64encode(text.encode()).decode("ascii"),
    "base64url": lambda text: base64.urlsafe_b64encode(text.encode()).decode("ascii"),
    "url": lambda text: quote(text, safe=""),
    "hex": lambda text: text.encode().hex(),
    "html": html.escape,
}
DECODERS: dict[str, Callable[[str], str]] = {
    "base64": lambda text: _unbase64(text, None).decode(),
    "base64url": lambda text: _unbase64(text, b"-_").decode(),
    "url": lambda text: unquote(text, errors="strict"),
    "hex": lambda text: bytes.fromhex(text).decode(),
    "html": html.unescape,
}


def run(ctx: Context, config: Mapping[str, Any]) -> str:
    """The encoded or decoded text (``operation`` is the reference's spelling of ``action``)."""
    action, encoding = config.get("action", config.get("operation")), config["encoding"]
    codecs = {"encode": ENCODERS, "decode": DECODERS}.get(action)
    if codecs is None:
        raise data_error(ctx, OP, f"unknown action {preview(action)}", suggestions=["Use 'encode' or 'decode'"])
    if encoding not in codecs:
        raise data_error(ctx, OP, f"unknown encoding {preview(encoding)}",
                         suggestions=[f"Use one of {', '.join(codecs)}"])
    if action == "encode":
        value = ctx.read(config["inputPath"])
        text = value if isinstance(value, str) else compact_json(value)
    else:
        text = read_string(ctx, OP, config["inputPath"])
    try:
        return codecs[encoding](text)
    except UnicodeEncodeError:
        raise data_error(ctx, OP, "the input is not valid Unicode text (it has a lone surrogate)") from None
    except UnicodeDecodeError:
        raise data_error(ctx, OP, f"the decoded {encoding} bytes are not UTF-8 text") from None
    except ValueError as exc:
        raise data_error(ctx, OP, f"{preview(text)} is not valid {encoding}: {exc}") from None


SPEC = OpSpec(
    OP,
    doc="Text to and from base64, base64url, URL percent-encoding, hex and HTML.",
    fields={
        "inputPath": in_path(),
        "action": opt("string", choices=ACTIONS),
        "operation": opt("string", choices=ACTIONS),
        "encoding": req("string", choices=("base64", "base64url", "url", "hex", "html")),
        "outputPath": out_path(),
    },
    run=run,
    rules=(one_spelling("action", "operation", required=True),),
    spellings={"action": "operation"},
)
