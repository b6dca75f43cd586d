"""Outbound host checks on literals, without I/O (PROTOCOL §8, §10 "Permissions").

:func:`host_of` extracts the host of an http(s) URL; :func:`is_private_literal`
says whether a host is, as written, a loopback, private, link-local, metadata,
unspecified, reserved or multicast address (including ``localhost``, IPv4-mapped
IPv6, and the legacy IPv4 spellings ``2130706433``, ``0x7f.1``, ``0177.0.0.1``);
:func:`host_allowed` applies an agent's allowed-host list. The engine checks the
addresses a name resolves to with :func:`is_private_address`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from a2e.errors import PermissionDenied, ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = frozenset({"http", "https"})
_SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_NETLOC = re.compile(r"[\s\\]")
_NAME = re.compile(r"[^\s/\\@:?#\[\]%]+")
_LEGACY_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def host_of(url: str) -> str:
    """The lowercased host of an http(s) URL (IPv6 without brackets, no trailing dot).

    Raises PermissionDenied for another scheme and ValidationError for a URL
    without a usable host.
    """
    if not isinstance(url, str) or _CONTROL.search(url):
        raise ValidationError("a URL is a string without control characters", details={"url": str(url)[:200]})
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as error:
        raise ValidationError(f"invalid URL: {error}", details={"url": url[:200]}) from None
    if parts.scheme.lower() not in SCHEMES:
        raise PermissionDenied(
            f"URL scheme {parts.scheme!r} is not allowed",
            details={"url": url[:200]},
            suggestions=["use http or https"],
        )
    if not host or _BAD_NETLOC.search(parts.netloc) or not _well_formed(host):
        raise ValidationError(f"URL {url[:200]!r} has no valid host", details={"url": url[:200]})
    return normalize_host(host)


def _well_formed(host: str) -> bool:
    if ":" in host:
        return _ip_literal(host) is not None
    return bool(_NAME.fullmatch(host)) and "" not in host.rstrip(".").split(".")


def normalize_host(host: str) -> str:
    """Lowercase, without IPv6 brackets or a trailing dot."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def is_private_address(address: IPAddress) -> bool:
    """Whether ``address`` must not be reached through a wildcard entry.

    Loopback, private, link-local, CGNAT (100.64/10), unspecified, reserved,
    multicast, metadata, anything not globally routable; an IPv4-mapped IPv6
    address is judged as its IPv4 address, and 6to4 / NAT64 forms embedding a
    private IPv4 address are private.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_private_address(address.ipv4_mapped)
        embedded = _embedded_ipv4(address)
        if embedded is not None and is_private_address(embedded):
            return True
    return (
        address in _METADATA
        or not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED_SPACE)
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_private_literal(host: str) -> bool:
    """Whether ``host`` as written names a private, loopback or metadata address (no DNS)."""
    name = normalize_host(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip_literal(name)
    return address is not None and is_private_address(address)


def _ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address, accepting the legacy IPv4 forms ``inet_aton`` takes."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _legacy_ipv4(host)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``: 1 to 4 parts, the last fills the rest."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_LEGACY_PART.fullmatch(part) for part in parts):
        return None
    numbers = [_legacy_number(part) for part in parts]
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (5 - len(parts))):
        return None
    value = last
    for position, number in enumerate(leading):
        value |= number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _legacy_number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if part.startswith("0"):
        return int(part, 8)
    return int(part)


_ENTRY_NAME = re.compile(r"^(\*|(\*\.)?([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63})$")


def is_host_entry(entry: str) -> bool:
    """Whether ``entry`` is in allowed-hosts syntax: an exact host or IP, ``*.domain`` or ``*``."""
    host = entry.strip().lower().removeprefix("[").removesuffix("]")
    if _ip_literal(host) is not None:
        return True
    return bool(_ENTRY_NAME.match(host))


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """Whether an agent with ``allowed_hosts`` may reach ``host``.

    An exact entry (case-insensitive, IPv6 with or without brackets, same IP
    in any spelling) opens the host on any port. ``*.example.com`` matches
    subdomains of example.com, ``*`` any host; wildcards never open a private,
    loopback or metadata literal.
    """
    name = normalize_host(host)
    entries = [normalize_host(entry) for entry in allowed_hosts]
    if any(_same_host(name, entry) for entry in entries):
        return True
    if is_private_literal(name):
        return False
    return any(entry == "*" or (entry.startswith("*.") and name.endswith(entry[1:])) for entry in entries)


def _same_host(name: str, entry: str) -> bool:
    if name == entry:
        return True
    address, entry_address = _ip_literal(name), _ip_literal(entry)
    return address is not None and address == entry_address
