"""Alembic environment: the URL comes from a2e's own configuration.

Precedence: a connection handed in by the caller (``config.attributes``), then
``-x url=...``, then a2e's settings (``A2E_DATABASE_URL`` / ``A2E_CONFIG``).
SQLite uses batch mode so ALTERs work.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from a2e.config import load_settings
from a2e.store.base import UTCDateTime
from a2e.store.models import Base
from a2e.store.session import make_engine

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write portable types into revisions, not a2e's own TypeDecorators."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        compare_type=True,
    )


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or load_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _configure(given)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
