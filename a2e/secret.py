"""The server's secret key (encrypts credentials at rest).

``A2E_SECRET_KEY`` wins; without it a random key is kept in ``a2e.secret`` (mode
0600) beside the SQLite database file, or in the working directory for other
databases, created on first use and announced once on stderr.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from a2e.config import Settings
from a2e.store.dialect import sqlite_file

log = logging.getLogger(__name__)
KEY_FILE_NAME = "a2e.secret"


def key_file_path(settings: Settings) -> Path:
    database_file = sqlite_file(make_url(settings.database_url))
    if database_file is not None:
        return database_file.resolve().parent / KEY_FILE_NAME
    return Path.cwd() / KEY_FILE_NAME


def load_secret_key(settings: Settings) -> str:
    """The secret key text, creating the key file if needed."""
    if settings.secret_key:
        return settings.secret_key
    path = key_file_path(settings)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    log.warning("A2E_SECRET_KEY is not set: created a random secret key in %s", path)
    return path.read_text(encoding="ascii").strip()
