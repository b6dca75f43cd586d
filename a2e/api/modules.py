"""The API's resource modules, registered in this order by ``create_app``.

Each module has ``init_app(app, api)`` that registers its blueprint(s) and hooks.
"""

from __future__ import annotations

from a2e.api import health
from a2e.api.admin import agents as admin_agents
from a2e.api.admin import saved_workflows as admin_saved_workflows
from a2e.api.admin import webhook_secrets as admin_webhook_secrets
from a2e.api.audit import resources as admin_audit
from a2e.api.cache import resources as cache
from a2e.api.capabilities import resources as capabilities
from a2e.api.credentials import resources as admin_credentials
from a2e.api import dashboard
from a2e.api.executions import resources as executions
from a2e.api.limits import resources as rate_limits
from a2e.api.saved_workflows import resources as saved_workflows
from a2e.api.store import resources as store
from a2e.api.workflows import resources as workflows

MODULES = (
    health,
    rate_limits,
    capabilities,
    admin_agents,
    admin_audit,
    admin_credentials,
    admin_saved_workflows,
    admin_webhook_secrets,
    workflows,
    executions,
    saved_workflows,
    store,
    cache,
    dashboard,
)
