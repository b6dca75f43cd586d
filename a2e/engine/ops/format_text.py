"""FormatText: fill ``{field}`` placeholders of a template from the object at inputPath,
or (``format``) change the text at inputPath: ``upper``, ``lower``, ``title``,
``capitalize``, ``trim``, ``replace`` (``replacements``: ``{from: to}``, in order) or
``template`` (the same as giving ``template`` alone).

The template is a deliberately small substitution, never ``str.format``: a placeholder is a dotted path of
keys and array indexes (``{user.name}``, ``{items.0}``) looked up in JSON data, so
attribute access on Python objects is impossible. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from a2e.engine.ops._common import Context, compact_json, data_error, lookup, preview
from a2e.errors import ExecutionError
from a2e.protocol.catalog import Finding, OpSpec, in_path, opt, out_path

OP = "FormatText"
MAX_OUTPUT_CHARS = 10 * 1024 * 1024
TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


TEXT_FORMATS: dict[str, Callable[[str], str]] = {
    "upper": str.upper, "lower": str.lower, "title": str.title, "capitalize": str.capitalize, "trim": str.strip,
}
FORMATS = (*TEXT_FORMATS, "replace", "template")


def run(ctx: Context, config: Mapping[str, Any]) -> str:
    """The text; a template's strings are inserted as is, other values as compact JSON."""
    fmt = config.get("format", "template")
    if fmt == "template":
        return _render(ctx, config)
    value = ctx.read(config["inputPath"])
    text = value if isinstance(value, str) else compact_json(value)
    if fmt == "replace":
        for old, new in config["replacements"].items():
            text = _bounded(ctx, text.replace(old, new)) if old else text
        return text
    return TEXT_FORMATS[fmt](text)


def _bounded(ctx: Context, text: str) -> str:
    if len(text) > MAX_OUTPUT_CHARS:
        raise ExecutionError(f"{OP}: the text would exceed {MAX_OUTPUT_CHARS} characters", operation_id=ctx.op_id,
                             suggestions=["Shorten the input or the replacement texts"])
    return text


def _render(ctx: Context, config: Mapping[str, Any]) -> str:
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


def _format_keys(config: Mapping[str, Any]) -> list[Finding]:
    """``template`` goes with format ``template`` (or no format), ``replacements`` with ``replace``."""
    fmt = config.get("format", "template")
    if fmt not in FORMATS:
        return []  # the field's own check reports it
    findings = []
    if fmt == "template" and "template" not in config:
        findings.append(Finding(f"{OP} needs 'template'", "e.g. \"template\": \"Hello {name}\""))
    if fmt != "template" and "inputPath" not in config:
        findings.append(Finding(f"format {fmt!r} needs 'inputPath'", "the path of the text to change"))
    replacements = config.get("replacements")
    if fmt == "replace":
        if not isinstance(replacements, Mapping) or not all(isinstance(v, str) for v in replacements.values()):
            findings.append(Finding("format 'replace' needs 'replacements', an object of strings",
                                    "e.g. \"replacements\": {\"old\": \"new\"}"))
    elif "replacements" in config:
        findings.append(Finding("'replacements' is used only with format 'replace'; it is ignored",
                                "add \"format\": \"replace\"", warning=True))
    if fmt != "template" and "template" in config:
        findings.append(Finding(f"'template' is not used with format {fmt!r}; it is ignored",
                                "add \"format\": \"template\"", warning=True))
    return findings


SPEC = OpSpec(
    OP,
    doc="Fill {field} placeholders of a template, or change case, trim or replace in a text.",
    fields={
        "template": opt("string"),
        "format": opt("string", choices=FORMATS),
        "replacements": opt("object"),
        "inputPath": in_path(required=False),
        "outputPath": out_path(),
    },
    run=run,
    rules=(_format_keys,),
)
