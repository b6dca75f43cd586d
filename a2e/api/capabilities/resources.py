"""``GET /api/v1/capabilities``: what the calling agent may use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api

from a2e.api.auth import current_principal
from a2e.api.blueprint import Blueprint
from a2e.api.capabilities.schemas import CapabilitiesSchema
from a2e.api.state import state
from a2e.engine.ops import REGISTRY
from a2e.store.models import Agent
from a2e.store.queries.credentials import read_credential_hosts
from a2e.store.queries.limits import read_effective_limits

blp = Blueprint(
    "capabilities", __name__, url_prefix="/api/v1/capabilities",
    description="What the calling agent may use",
)


@blp.route("")
class Capabilities(MethodView):
    @blp.response(200, CapabilitiesSchema)
    def get(self) -> dict[str, Any]:
        """Operations, hosts, credentials and limits of the calling agent"""
        principal = current_principal()
        app_state = state()
        allowed = principal.allowed_operations
        with app_state.db.session() as session:
            agent = session.get_one(Agent, principal.agent_id)
            limits = read_effective_limits(session, agent, app_state.settings.rate_limiting)
            credential_ids = sorted(read_credential_hosts(session, principal.agent_id))
        operations = sorted(op for op in REGISTRY if allowed is None or op in allowed)
        hosts = list(principal.allowed_hosts)
        return {
            "agent_id": principal.agent_id,
            "name": principal.name,
            "operations": operations,
            "hosts": hosts,
            "credentials": list(credential_ids),
            "limits": {"enabled": app_state.settings.rate_limiting["enabled"], **limits},
            "capabilities": reference_view(operations, hosts, credential_ids, app_state.settings.execution),
            "operation_schemas": {name: REGISTRY[name].json_schema() for name in operations},
        }


def _host_match(host: str) -> str:
    if host == "*":
        return "any public host"
    return "subdomains" if host.startswith("*.") else "exact"


def reference_view(operations: list[str], hosts: list[str], credential_ids: Sequence[str],
                   execution: Mapping[str, Any]) -> dict[str, Any]:
    """The same facts under the names the reference's clients read (``capabilities.*``)."""
    return {
        "availableApis": {host: {"host": host, "match": _host_match(host)} for host in hosts},
        "availableCredentials": [
            {"id": cid, "usage": f'a header or body value {{"credentialRef": {{"id": "{cid}"}}}}'}
            for cid in credential_ids
        ],
        "supportedOperations": operations,
        "securityConstraints": {
            "allowedDomains": hosts,
            "maxOperations": execution["max_operations"],
            "maxLoopIterations": execution["max_loop_iterations"],
            "maxWaitMs": execution["max_wait_ms"],
            "maxExecutionTime": int(execution["run_deadline_s"] * 1000),
            "maxResponseBytes": execution["max_response_bytes"],
        },
    }


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(blp)
