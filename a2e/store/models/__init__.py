"""Every mapped table; importing this package fills ``Base.metadata``."""

from a2e.store.base import Base
from a2e.store.models.agents import Agent, ApiKey
from a2e.store.models.audit import AuditEvent
from a2e.store.models.cache import CacheEntry, CacheStats
from a2e.store.models.credentials import Credential
from a2e.store.models.limits import AgentLimits
from a2e.store.models.rollups import RollupWatermark, RunDurationRollup, RunRollup, StepRollup
from a2e.store.models.runs import Run, RunStep
from a2e.store.models.usage import RunSlotLease, UsageWindow
from a2e.store.models.webhooks import WebhookDelivery
from a2e.store.models.workflows import SavedWorkflow, StoredValue

__all__ = [
    "Agent",
    "AgentLimits",
    "ApiKey",
    "AuditEvent",
    "Base",
    "CacheEntry",
    "CacheStats",
    "Credential",
    "RollupWatermark",
    "Run",
    "RunDurationRollup",
    "RunRollup",
    "RunSlotLease",
    "RunStep",
    "SavedWorkflow",
    "StepRollup",
    "StoredValue",
    "UsageWindow",
    "WebhookDelivery",
]
