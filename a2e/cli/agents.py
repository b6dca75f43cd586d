"""``a2e agents ...`` and ``a2e keys ...``."""

from __future__ import annotations

import click

from a2e.audit import actions, record_cli_event
from a2e.cli.common import emit, session_scope, settings
from a2e.crypto import SecretBox
from a2e.engine.ops import REGISTRY
from a2e.secret import load_secret_key
from a2e.store.queries import agents as queries
from a2e.store.queries.webhooks import rotate_webhook_secret


@click.group("agents")
def agents_group() -> None:
    """Create, list and disable agents."""


@agents_group.command("create")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May use the management endpoints.")
@click.option(
    "--allow-op", "allow_ops", multiple=True, type=click.Choice(sorted(REGISTRY)),
    help="Allowed operation type (repeat). Without any, every operation is allowed.",
)
@click.option(
    "--allow-host", "allow_hosts", multiple=True, metavar="HOST",
    help="Allowed API host: exact (api.example.com, 127.0.0.1, ::1), *.example.com, or * "
         "(repeat); a URL is not a host.",
)
def create(name: str, admin: bool, allow_ops: tuple[str, ...], allow_hosts: tuple[str, ...]) -> None:
    """Create agent NAME and print {"agent_id", "name", "api_key"} (the key is shown once).

    NAME is 1-100 letters, digits, _ . - and not only digits (a number is an agent id).
    """
    with session_scope(write=True) as session:
        issued = queries.create_agent(
            session, name, admin=admin,
            allowed_operations=list(allow_ops) or None, allowed_hosts=allow_hosts,
        )
        record_cli_event(session, settings(), actions.AGENT_CREATED, target=issued.name,
                         agent_id=issued.agent_id, details={"admin": admin})
    emit(issued.to_dict())


@agents_group.command("list")
def list_agents() -> None:
    """Print every agent as one JSON array."""
    with session_scope() as session:
        emit([agent.describe() for agent in queries.read_agents(session)])


@agents_group.command("disable")
@click.argument("name")
def disable(name: str) -> None:
    """Disable agent NAME: its keys stop working at once."""
    with session_scope(write=True) as session:
        agent = queries.read_agent(session, name)
        agent.disabled = True
        described = agent.describe()
        record_cli_event(session, settings(), actions.AGENT_DISABLED, target=described["name"],
                         agent_id=described["agent_id"])
    emit(described)


@agents_group.command("webhook-secret")
@click.argument("name")
def webhook_secret(name: str) -> None:
    """Issue a new webhook secret for NAME and print {"agent_id", "name", "webhook_secret"}.

    Shown once; the previous secret stops signing at once. Webhooks of NAME's
    asynchronous runs carry A2E-Signature: t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">.
    """
    config = settings()
    box = SecretBox(load_secret_key(config))
    with session_scope(write=True) as session:
        agent = queries.read_agent(session, name)
        secret = rotate_webhook_secret(session, agent, box)
        agent_id, agent_name = agent.id, agent.name
        record_cli_event(session, config, actions.WEBHOOK_SECRET_ROTATED, target=agent_name,
                         agent_id=agent_id)
    emit({"agent_id": agent_id, "name": agent_name, "webhook_secret": secret})


@click.group("keys")
def keys_group() -> None:
    """Rotate API keys."""


@keys_group.command("rotate")
@click.argument("name")
def rotate(name: str) -> None:
    """Revoke NAME's keys and print a new one as {"agent_id", "name", "api_key"}."""
    with session_scope(write=True) as session:
        issued = queries.rotate_keys(session, queries.read_agent(session, name))
        record_cli_event(session, settings(), actions.KEY_ROTATED, target=issued.name,
                         agent_id=issued.agent_id)
    emit(issued.to_dict())


def register(cli: click.Group) -> None:
    cli.add_command(agents_group)
    cli.add_command(keys_group)
