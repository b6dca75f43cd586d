"""What the app holds for the lifetime of a process, reached through ``current_app``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from a2e.config import Settings
from a2e.store.session import Database

if TYPE_CHECKING:
    from a2e.api.services import Services


@dataclass
class AppState:
    settings: Settings
    db: Database
    secret_key: str
    #: The typed services ``create_app`` composed (``a2e.api.services.build_services``).
    services: Services


def state() -> AppState:
    return current_app.extensions["a2e"]
