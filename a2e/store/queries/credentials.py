"""Credentials: one agent each, values sealed with :class:`a2e.crypto.SecretBox`.

Functions take the session first and never commit. Plaintext values go in through
:func:`write_credential` and come out only through :func:`read_credential_value`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Connection, delete, select
from sqlalchemy.orm import Session

from a2e.crypto import SecretBox
from a2e.protocol.hosts import is_host_entry
from a2e.store.models import Credential

CREDENTIAL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_VALUE_CHARS = 16_384


class InvalidCredential(ValueError):
    """A credential id or value that cannot be stored (the message never quotes the value)."""


def check_hosts(hosts: Sequence[str]) -> list[str]:
    """The hosts a credential is bound to, without duplicates; InvalidCredential for a bad one."""
    for host in hosts:
        if not isinstance(host, str) or not is_host_entry(host):
            raise InvalidCredential(f"{str(host)[:200]!r} is not a host, '*.domain' or '*'")
    return list(dict.fromkeys(host.strip().lower() for host in hosts))


def check_credential(credential_id: str, value: str) -> None:
    if not CREDENTIAL_ID.fullmatch(credential_id):
        raise InvalidCredential(
            f"credential id {credential_id[:100]!r} must be 1-100 letters, digits, _ . -"
        )
    if not value:
        raise InvalidCredential("a credential value must not be empty")
    if len(value) > MAX_VALUE_CHARS:
        raise InvalidCredential(f"a credential value must be at most {MAX_VALUE_CHARS} characters")


def _context(agent_id: int, credential_id: str) -> bytes:
    """The associated data that binds a sealed value to its row."""
    return f"credential:{agent_id}:{credential_id}".encode()


def write_credential(
    session: Session, box: SecretBox, agent_id: int, credential_id: str, value: str,
    hosts: Sequence[str] = (),
) -> tuple[Credential, bool]:
    """Create or replace a credential (value and hosts: no hosts is unbound); ``(row, created)``."""
    check_credential(credential_id, value)
    bound = check_hosts(hosts)
    sealed = box.seal(value, context=_context(agent_id, credential_id))
    row = session.get(Credential, (agent_id, credential_id))
    created = row is None
    if row is None:
        row = Credential(agent_id=agent_id, credential_id=credential_id, ciphertext=sealed, hosts=bound)
        session.add(row)
    else:
        row.ciphertext = sealed
        row.hosts = bound
    session.flush()
    return row, created


def read_credential_value(
    session: Session, box: SecretBox, agent_id: int, credential_id: str
) -> tuple[str, tuple[str, ...]] | None:
    """The plaintext of the agent's credential and the hosts it is bound to, or None when
    it has none by that id.

    Raises :class:`a2e.crypto.SealedValueError` when the stored value does not open.
    """
    row = session.execute(
        select(Credential.ciphertext, Credential.hosts).where(
            Credential.agent_id == agent_id, Credential.credential_id == credential_id
        )
    ).first()
    if row is None:
        return None
    return box.open(row.ciphertext, context=_context(agent_id, credential_id)), tuple(row.hosts or ())


def read_credential_hosts(conn: Session | Connection, agent_id: int) -> dict[str, tuple[str, ...]]:
    """Every credential id of the agent with the hosts it is bound to (empty: unbound)."""
    rows = conn.execute(
        select(Credential.credential_id, Credential.hosts).where(Credential.agent_id == agent_id)
    )
    return {row.credential_id: tuple(row.hosts or ()) for row in rows}


def read_credentials(session: Session, agent_id: int) -> Sequence[Credential]:
    """The agent's credentials by id (read only the metadata columns of these rows)."""
    return session.scalars(
        select(Credential).where(Credential.agent_id == agent_id).order_by(Credential.credential_id)
    ).all()


def delete_credential(session: Session, agent_id: int, credential_id: str) -> bool:
    """Delete one credential; False when the agent has none by that id."""
    result = session.execute(
        delete(Credential).where(
            Credential.agent_id == agent_id, Credential.credential_id == credential_id
        )
    )
    return bool(result.rowcount)
