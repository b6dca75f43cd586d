"""The action names the audit trail records, and the conventional outcomes.

Callers pass these to ``a2e.api.events.record_event`` (or, from the CLI, to
``a2e.audit.record_cli_event``); the names are what operators filter on.
"""

from __future__ import annotations

# -- outcomes
SUCCESS = "success"
FAILURE = "failure"
DENIED = "denied"

# -- requests and runs (recorded by the execute/validate path)
AUTH_FAILED = "auth.failed"  # throttled per client address, details {"reason", "count"}
WORKFLOW_VALIDATE = "workflow.validate"  # target: executionId or workflowId; details {"valid"}
WORKFLOW_EXECUTE = "workflow.execute"  # outcome "denied" when refused before running
RUN_STARTED = "run.started"  # target: execution id; details {"run_id"}
RUN_FINISHED = "run.finished"  # outcome success|failure; details {"run_id", "status", "duration_ms"}
STEP_FAILED = "step.failed"  # target: operation id; details {"run_id", "op_type", "error_type"}
RATE_LIMIT_REJECTED = "rate_limit.rejected"  # first per agent, limit and window: {"limit", "window"}
CACHE_INVALIDATED = "cache.invalidated"  # details {"type"?, "agent"?, "removed"}

# -- management changes (admin API and CLI)
AGENT_CREATED = "agent.created"
AGENT_UPDATED = "agent.updated"  # details {"changed": [field, ...]}
AGENT_DISABLED = "agent.disabled"
KEY_CREATED = "key.created"  # details {"prefix"}: the lookup prefix, never the key
KEY_ROTATED = "key.rotated"
KEY_REVOKED = "key.revoked"
LIMITS_CHANGED = "limits.changed"
CREDENTIAL_SET = "credential.set"  # target: credential id; never the value
CREDENTIAL_DELETED = "credential.deleted"
WORKFLOW_SAVED = "workflow.saved"
WORKFLOW_DELETED = "workflow.deleted"

# -- the trail itself
CHECKPOINT = "audit.checkpoint"  # the first row after a prune; see a2e.audit.retention
