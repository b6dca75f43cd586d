"""Helpers shared by the command modules: settings, database, JSON output, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from a2e.config import ConfigError, Settings, load_settings
from a2e.store.queries.agents import AgentExists, AgentNotFound, InvalidAgent
from a2e.store.schema_state import missing_schema
from a2e.store.session import Database


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


#: How the commands name the database setting in their messages.
DATABASE_SETTING = "A2E_DATABASE_URL (or database.url in the A2E_CONFIG file)"


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url[:200])


def database(config: Settings | None = None) -> Database:
    """The configured database; a URL that is not one stops here with the setting named."""
    config = config or settings()
    try:
        return Database.from_url(
            config.database_url,
            pool_size=1,
            busy_timeout_ms=config.database["busy_timeout_ms"],
        )
    except ArgumentError as exc:
        raise click.ClickException(database_error_message(exc, config.database_url)) from None
    except ImportError as exc:
        raise click.ClickException(
            f"{DATABASE_SETTING} needs the {exc.name} driver, which is not installed; a2e "
            "runs on sqlite:///PATH or postgresql+psycopg://... (pip install 'a2e[postgres]')"
        ) from None


def database_error_message(exc: SQLAlchemyError, url: str | None = None) -> str:
    """One line for a database failure: what to do, and which setting it concerns."""
    where = f" ({_shown(url)})" if url else ""
    if isinstance(exc, ArgumentError):
        return (f"{DATABASE_SETTING} is not a database URL{where}: {str(exc).splitlines()[0]}; "
                "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
    if isinstance(exc, DBAPIError) and missing_schema(exc):
        return f"the database{where} is not migrated: run `a2e db upgrade`"
    orig = getattr(exc, "orig", None) or exc
    detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]
    if isinstance(exc, OperationalError | InterfaceError):
        return f"cannot use the database named by {DATABASE_SETTING}{where}: {detail}"
    return f"database error: {type(orig).__name__}: {detail}"


def configured_url() -> str | None:
    try:
        return load_settings().database_url
    except ConfigError:
        return None


@contextmanager
def session_scope(*, write: bool = False) -> Iterator[Session]:
    """One transaction; store errors become a message and a non-zero exit."""
    db = database()
    try:
        with db.session(write=write) as session:
            yield session
    except (AgentNotFound, AgentExists, InvalidAgent) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(database_error_message(exc, configured_url())) from None
    finally:
        db.dispose()


def emit(value: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(value, default=str, sort_keys=False))


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)
