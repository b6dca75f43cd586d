"""Helpers shared by the command modules: settings, database, JSON output, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from a2e.config import ConfigError, Settings, load_settings
from a2e.store.queries.agents import AgentExists, AgentNotFound
from a2e.store.session import Database


def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def database(config: Settings | None = None) -> Database:
    config = config or settings()
    return Database.from_url(
        config.database_url,
        pool_size=1,
        busy_timeout_ms=config.database["busy_timeout_ms"],
    )


@contextmanager
def session_scope(*, write: bool = False) -> Iterator[Session]:
    """One transaction; store errors become a message and a non-zero exit."""
    db = database()
    try:
        with db.session(write=write) as session:
            yield session
    except (AgentNotFound, AgentExists) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database error: {type(exc).__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from None
    finally:
        db.dispose()


def emit(value: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(value, default=str, sort_keys=False))


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)
