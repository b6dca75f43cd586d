"""``a2e db upgrade|downgrade|current``: the Alembic tree at the repository root."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config

from a2e.cli.common import settings


def alembic_config() -> Config:
    """Alembic's config for ``alembic.ini`` in the working directory (a deployment checkout)."""
    ini = Path.cwd() / "alembic.ini"
    if not ini.is_file():
        raise click.ClickException(
            "alembic.ini not found: run `a2e db` from the a2e repository root"
        )
    settings()  # a bad configuration stops here, with the key named
    return Config(str(ini))


@click.group("db")
def db_group() -> None:
    """Database migrations (the same as `alembic ...` from the repository root)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    command.upgrade(alembic_config(), revision)


@db_group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (`base` for an empty schema)."""
    command.downgrade(alembic_config(), revision)


@db_group.command("current")
def current() -> None:
    """Show the database's current revision."""
    command.current(alembic_config())


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
