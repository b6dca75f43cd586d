"""The HTTP API: ``create_app`` builds it."""

from a2e.api.app import create_app

__all__ = ["create_app"]
