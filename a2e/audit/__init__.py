"""The audit trail: append-only events in ``audit_events``, chained by a keyed sealer.

- :mod:`a2e.audit.chain` — canonical row form, the chain key and the keyed hash,
- :mod:`a2e.audit.log` — the ``audit`` service (unsealed rows) and :func:`record_cli_event`,
- :mod:`a2e.audit.seal` — the sealer that chains pending rows, and its background thread,
- :mod:`a2e.audit.verify` — walks the chain, names the first broken row, checks anchors,
- :mod:`a2e.audit.retention` — prune with a checkpoint row,
- :mod:`a2e.audit.export` — CSV / JSON Lines / JSON renderings of filtered rows,
- :mod:`a2e.audit.actions` — the action names callers record.
"""

from a2e.audit.chain import chain_key
from a2e.audit.log import AuditLog, record_cli_event
from a2e.audit.retention import PruneReport, prune
from a2e.audit.seal import BackgroundSealer, Sealer
from a2e.audit.verify import VerifyReport, anchor_of, verify

__all__ = [
    "AuditLog", "BackgroundSealer", "PruneReport", "Sealer", "VerifyReport", "anchor_of",
    "chain_key", "prune", "record_cli_event", "verify",
]
