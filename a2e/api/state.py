"""What the app holds for the lifetime of a process, reached through ``current_app``.

Code run on every request reads Flask's context objects once through
``_get_current_object()`` (``g``, ``request``, ``current_app``): each attribute read
through Werkzeug's proxy raises and catches an AttributeError and makes three calls."""

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
    return current_app._get_current_object().extensions["a2e"]
