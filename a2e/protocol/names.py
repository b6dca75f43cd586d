"""Agent names and allowed-host entries: one definition for the API, its OpenAPI
document and the CLI.

A name is 1-100 letters, digits, ``_ . -`` with at least one character that is not a
digit, so a name never reads as an agent id (``/admin/agents/2`` is agent 2). An
allowed host is ``*``, a host name (``api.example.com``), ``*.`` and a domain, or an
IP address (IPv6 without brackets).
"""

from __future__ import annotations

import ipaddress
import re

MAX_NAME = 100
#: At least one non-digit; the length (1-100) is checked apart.
AGENT_NAME_PATTERN = r"^[0-9]*[A-Za-z_.-][A-Za-z0-9_.-]*$"
HOST_PATTERN = r"^(\*|(\*\.)?([A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63})$"
NAME_RULE = f"1-{MAX_NAME} letters, digits, _ . - and not only digits"
HOST_RULE = "an exact host (api.example.com, 127.0.0.1, ::1), *.example.com or *"
_AGENT_NAME = re.compile(AGENT_NAME_PATTERN)
_HOST = re.compile(HOST_PATTERN)


def agent_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an agent, or None when it can."""
    if len(name) <= MAX_NAME and _AGENT_NAME.fullmatch(name):
        return None
    if name.isascii() and name.isdigit():
        return f"{name!r} is not a valid agent name: it would read as an agent id; use {NAME_RULE}"
    return f"{name!r} is not a valid agent name: use {NAME_RULE}"


def host_problem(entry: str) -> str | None:
    """Why ``entry`` cannot be an allowed host, or None when it can."""
    if _HOST.fullmatch(entry):
        return None
    if ":" in entry and "%" not in entry:
        try:
            ipaddress.IPv6Address(entry)
            return None
        except ValueError:
            pass
    return f"{entry!r} is not a host: use {HOST_RULE}"
