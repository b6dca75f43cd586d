"""``a2e credentials ...``: values are read from stdin and never printed."""

from __future__ import annotations

import sys

import click

from a2e.audit import actions, record_cli_event
from a2e.cli.common import emit, session_scope, settings
from a2e.crypto import SecretBox
from a2e.secret import load_secret_key
from a2e.store.queries import agents as agent_queries
from a2e.store.queries import credentials as queries


@click.group("credentials")
def credentials_group() -> None:
    """Store, list and delete the credentials an agent's ApiCalls reference."""


@credentials_group.command("set")
@click.argument("agent")
@click.argument("credential_id")
@click.option(
    "--host", "hosts", multiple=True, metavar="HOST",
    help="Bind the credential to HOST (repeat): it is sent to no other host. Same syntax as "
         "allowed hosts: api.example.com, 127.0.0.1, *.example.com, *. Without any, unbound.",
)
def set_credential(agent: str, credential_id: str, hosts: tuple[str, ...]) -> None:
    """Store CREDENTIAL_ID for AGENT, reading the value from stdin.

    The value is used verbatim (store "Bearer abc123" to send that header); one
    trailing newline is dropped. It is encrypted with the server's secret key.
    Setting it again replaces the value and the hosts.
    """
    value = sys.stdin.read()
    value = value.removesuffix("\n").removesuffix("\r")
    config = settings()
    box = SecretBox(load_secret_key(config))
    try:
        with session_scope(write=True) as session:
            owner = agent_queries.read_agent(session, agent)
            owner_id = owner.id
            row, created = queries.write_credential(session, box, owner_id, credential_id, value, hosts)
            bound = list(row.hosts)
            record_cli_event(session, config, actions.CREDENTIAL_SET, agent_id=owner_id,
                             target=f"{agent}/{credential_id}",
                             details={"created": created, "hosts": bound})
    except queries.InvalidCredential as exc:
        raise click.ClickException(str(exc)) from None
    emit({"agent": agent, "credential_id": credential_id, "hosts": bound, "created": created})


@credentials_group.command("list")
@click.argument("agent")
def list_credentials(agent: str) -> None:
    """Print AGENT's credentials as one JSON array of {"credential_id", "hosts",
    "created_at", "updated_at"} (never the values)."""
    with session_scope() as session:
        owner = agent_queries.read_agent(session, agent)
        emit([{"credential_id": row.credential_id, "hosts": list(row.hosts or []),
               "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}
              for row in queries.read_credentials(session, owner.id)])


@credentials_group.command("delete")
@click.argument("agent")
@click.argument("credential_id")
def delete_credential(agent: str, credential_id: str) -> None:
    """Delete AGENT's credential CREDENTIAL_ID."""
    config = settings()
    with session_scope(write=True) as session:
        owner_id = agent_queries.read_agent(session, agent).id
        if not queries.delete_credential(session, owner_id, credential_id):
            raise click.ClickException(f"agent {agent!r} has no credential {credential_id!r}")
        record_cli_event(session, config, actions.CREDENTIAL_DELETED, agent_id=owner_id,
                         target=f"{agent}/{credential_id}")
    emit({"agent": agent, "credential_id": credential_id, "deleted": True})


def register(cli: click.Group) -> None:
    cli.add_command(credentials_group)
