"""The action names the audit trail records, and the conventional outcomes.

Callers pass these to ``a2e.api.events.record_event_in`` (a change, in its own
transaction), ``a2e.api.events.record_event`` (no change), or, from the CLI, to
``a2e.audit.record_cli_event``; the names are what operators filter on.
"""

from __future__ import annotations

# -- outcomes
SUCCESS = "success"
FAILURE = "failure"
DENIED = "denied"

# -- requests and runs (recorded by the execute/validate path)
AUTH_FAILED = "auth.failed"  # throttled per client address, details {"reason", "count"}
WORKFLOW_VALIDATE = "workflow.validate"  # outcome valid|invalid; details {"errors"}
WORKFLOW_EXECUTE = "workflow.execute"  # a refused execute; details {"errors"} (accepted: run.started)
RUN_STARTED = "run.started"  # target run:<id>; details {"execution_id"}
RUN_FINISHED = "run.finished"  # outcome success|failure; details {"status", "duration_ms"}
RUN_INTERRUPTED = "run.interrupted"  # at server start; actor "server"; target run:<id>
RUN_QUEUED = "run.queued"  # an async submit; target run:<id>; details {"execution_id", "callback"}
RUN_RESUMED = "run.resumed"  # claimed again after its worker stopped; details {"claim", "worker", ...}
RUN_HANDED_BACK = "run.handed_back"  # a stopping worker put it back in the queue
RUN_CANCEL_REQUESTED = "run.cancel_requested"  # details {"execution_id", "status"}
WEBHOOK_DELIVERED = "webhook.delivered"  # target run:<id>; details {"attempts", "status_code"}
WEBHOOK_FAILED = "webhook.failed"  # every attempt used, or the host was refused
WEBHOOK_SECRET_ROTATED = "webhook_secret.rotated"  # target the agent; never the secret
STEP_FAILED = "step.failed"  # target run:<id>; details {"operation_id", "type", "error_type"}
RATE_LIMIT_REJECTED = "rate_limit.rejected"  # first per agent, limit and window
CACHE_INVALIDATED = "cache.invalidated"  # details: the filters and "removed"

# -- management changes (admin API and CLI)
AGENT_CREATED = "agent.created"
AGENT_UPDATED = "agent.updated"  # details {"changed": [field, ...]}
AGENT_DISABLED = "agent.disabled"
KEY_CREATED = "key.created"  # details {"prefix"}: the lookup prefix, never the key
KEY_ROTATED = "key.rotated"
KEY_REVOKED = "key.revoked"
LIMITS_CHANGED = "limits.changed"  # details {"changed": {limit: value or null}}
USAGE_RESET = "usage.reset"  # ``a2e limits reset``: the current windows' usage zeroed
CREDENTIAL_SET = "credential.set"  # target <agent>/<credential id>; never the value
CREDENTIAL_DELETED = "credential.deleted"
WORKFLOW_SAVED = "workflow.saved"
WORKFLOW_DELETED = "workflow.deleted"

# -- the trail itself
CHECKPOINT = "audit.checkpoint"  # the first row after a prune; see a2e.audit.retention
