"""The engine's CredentialStore port over SQL: each lookup is its own short read."""

from __future__ import annotations

import logging

from a2e.crypto import SealedValueError, SecretBox
from a2e.engine.ports import AgentId, BoundSecret
from a2e.errors import ExecutionError, PermissionDenied
from a2e.store.queries import credentials as queries
from a2e.store.session import Database

log = logging.getLogger(__name__)


class SqlCredentialStore:
    """Credentials sealed in the ``credentials`` table, opened with the server's key."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db = db
        self._box = box

    def lookup(self, agent_id: AgentId, credential_id: str) -> BoundSecret:
        """The value and hosts of the agent's own credential; PermissionDenied for any other."""
        try:
            with self._db.session() as session:
                found = queries.read_credential_value(session, self._box, int(agent_id), credential_id)
        except SealedValueError as exc:
            log.error("credential %r of agent %s does not open: %s", credential_id, agent_id, exc)
            raise ExecutionError(
                f"Credential {credential_id!r} cannot be decrypted with this server's secret key",
                suggestions=["Set the credential again, or start the server with the secret key it was stored under"],
            ) from None
        if found is None:
            raise PermissionDenied(
                f"Credential {credential_id!r} is not available to this agent",
                details={"credentialId": credential_id},
                suggestions=["Ask an administrator to store the credential for this agent"],
            )
        return BoundSecret(*found)
