"""The ``a2e`` command line: one click group, one module per command group."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from a2e import __version__
from a2e.cli import (
    agents,
    audit,
    cache,
    credentials,
    db,
    limits,
    mcp,
    metrics,
    report,
    runs,
    serve,
    worker,
)
from a2e.cli.common import configured_url, database_error_message


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="a2e")
def cli() -> None:
    """a2e: the SQL-persisted A2E workflow server.

    Configuration comes from the JSON file named by A2E_CONFIG and the
    environment (A2E_DATABASE_URL, A2E_SECRET_KEY, A2E_LOG_DIR).
    """


for module in (serve, worker, db, agents, credentials, audit, runs, limits, report, cache, metrics,
               mcp):
    module.register(cli)


def main() -> None:
    """The console script: a database failure in any command is one line, no traceback."""
    try:
        cli(prog_name="a2e")
    except SQLAlchemyError as exc:
        click.echo(f"Error: {database_error_message(exc, configured_url())}", err=True)
        sys.exit(1)
