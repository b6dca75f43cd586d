"""What the app holds for the lifetime of a process, reached through ``current_app``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from a2e.config import Settings
from a2e.store.session import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    secret_key: str
    #: Services the subsystems add at ``init_app`` time (limiter, cache, runner, ...).
    services: dict[str, Any] = field(default_factory=dict)


def state() -> AppState:
    return current_app.extensions["a2e"]
