"""FormatText: fill ``{field}`` placeholders of a template from the object at inputPath.

A deliberately small substitution, never ``str.format``: a placeholder is a dotted path of
keys and array indexes (``{user.name}``, ``{items.0}``) looked up in JSON data, so
attribute access on Python objects is impossible. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from a2e.engine.ops._common import Context, compact_json, data_error, lookup, preview
from a2e.errors import ExecutionError
from a2e.protocol.catalog import OpSpec, in_path, out_path, req

OP = "FormatText"
MAX_OUTPUT_CHARS = 10 * 1024 * 1024
TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def run(ctx: Context, config: Mapping[str, Any]) -> str:
    """The rendered text; strings are inserted as is, other values as compact JSON."""
    template: str = config["template"]
    data = ctx.read(config["inputPath"]) if "inputPath" in config else None
    parts: list[str] = []
    size = end = 0
    for token in TOKEN.finditer(template):
        text = token.group()
        if text in ("{{", "}}"):
            text = text[0]
        elif token.group(1) is not None:
            text = _field(ctx, config, data, token.group(1).strip())
        else:
            raise data_error(ctx, OP, f"unmatched {text!r} at position {token.start()} of the template",
                             suggestions=["Write {{ and }} for literal braces"])
        size += len(text)
        if size > MAX_OUTPUT_CHARS:
            raise ExecutionError(f"{OP}: the text would exceed {MAX_OUTPUT_CHARS} characters",
                                 operation_id=ctx.op_id)
        parts += (template[end:token.start()], text)
        end = token.end()
    parts.append(template[end:])
    return "".join(parts)


def _field(ctx: Context, config: Mapping[str, Any], data: Any, name: str) -> str:
    if not name:
        raise data_error(ctx, OP, "empty placeholder {}", suggestions=["Name a field, e.g. {name}"])
    if "inputPath" not in config:
        raise data_error(ctx, OP, f"placeholder {{{name}}} needs data but there is no inputPath",
                         suggestions=["Add \"inputPath\" naming the object to fill the template from"])
    try:
        value = lookup(data, name)
    except LookupError:
        raise data_error(ctx, OP, f"field {preview(name)} not found in the data at {config['inputPath']}",
                         details={"field": name[:200]}) from None
    return value if isinstance(value, str) else compact_json(value)


SPEC = OpSpec(
    OP,
    doc="Fill {field} placeholders of a template from the object at inputPath.",
    fields={"template": req("string"), "inputPath": in_path(required=False), "outputPath": out_path()},
    run=run,
)
