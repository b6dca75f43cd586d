"""The dashboard: its metrics API, the Prometheus ``/metrics`` endpoint and the page."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from a2e.api.dashboard import page, prometheus, resources


def init_app(app: Flask, api: Api) -> None:
    api.register_blueprint(resources.blp)
    prometheus.init_app(app, api)
    api.register_blueprint(page.blp)
