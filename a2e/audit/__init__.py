"""The audit trail: append-only, hash-chained events in ``audit_events``.

- :mod:`a2e.audit.chain` — canonical row form and the hash chain,
- :mod:`a2e.audit.log` — the ``audit`` service (appends) and :func:`record_cli_event`,
- :mod:`a2e.audit.verify` — walks the chain and names the first broken row,
- :mod:`a2e.audit.retention` — prune with a checkpoint row,
- :mod:`a2e.audit.export` — CSV / JSON Lines / JSON renderings of filtered rows,
- :mod:`a2e.audit.actions` — the action names callers record.
"""

from a2e.audit.log import AuditLog, record_cli_event
from a2e.audit.retention import PruneReport, prune
from a2e.audit.verify import VerifyReport, verify

__all__ = ["AuditLog", "PruneReport", "VerifyReport", "prune", "record_cli_event", "verify"]
