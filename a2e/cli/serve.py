"""``a2e serve``: gunicorn with N workers in front of ``create_app``."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from a2e.cli.common import database, settings
from a2e.config import Settings
from a2e.heap import freeze_startup_objects

log = logging.getLogger("a2e.serve")
#: Extra seconds a worker gets beyond the run deadline before gunicorn kills it.
WORKER_GRACE_S = 30


class A2EServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn, configured in code; the app is built once per worker."""

    def __init__(self, config: Settings, options: dict[str, Any]) -> None:
        self.config_settings = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from a2e.api import create_app

        app = create_app(self.config_settings)
        threads = int(self.config_settings.queue["workers_per_server"])
        if threads:
            from a2e.queue.worker import QueueWorker

            QueueWorker(app, threads, name="serve").start()
        freeze_startup_objects()
        return app


def stop_queue_worker(worker: Any) -> None:
    """Gunicorn's ``worker_exit`` hook: let this process's queue threads finish or hand back."""
    app = getattr(worker, "wsgi", None)
    queue_worker = app.extensions["a2e"].services.queue_worker if app else None
    if queue_worker is not None:
        queue_worker.stop(grace_s=float(app.extensions["a2e"].settings.queue["lease_s"]))


def _services(worker: Any) -> Any:
    app = getattr(worker, "wsgi", None)
    return app.extensions["a2e"].services if isinstance(app, Flask) else None


def start_background(worker: Any) -> None:
    """Gunicorn ``post_worker_init``: this worker's audit sealer and rollup roller start."""
    services = _services(worker)
    if services is not None:
        services.sealer.start()
        services.roller.start()


def worker_exit(server: Any, worker: Any) -> None:
    """Gunicorn ``worker_exit`` (after SIGTERM's graceful stop too): the roller stops,
    queued runs finish or go back to the queue, then the audit events are sealed."""
    services = _services(worker)
    if services is not None:
        services.roller.stop()
    stop_queue_worker(worker)
    if services is not None:
        services.sealer.stop()


def gunicorn_options(config: Settings, host: str, port: int, workers: int) -> dict[str, Any]:
    deadline = float(config.execution["run_deadline_s"])
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": config.server["threads"],
        "timeout": int(deadline + WORKER_GRACE_S),
        # gunicorn's largest request line: every URL the OpenAPI document allows fits.
        "limit_request_line": 8190,
        "graceful_timeout": int(deadline + WORKER_GRACE_S),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": False,
        "post_worker_init": start_background,
        "worker_exit": worker_exit,
    }


@click.command("serve")
@click.option("--host", default=None, help="Address to bind (default: server.host, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default: server.port, 8000).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Gunicorn worker processes (default: server.workers, 1).")
@click.option("--no-rate-limits", is_flag=True,
              help="Switch rate limiting off for this server (as rateLimiting.enabled=false).")
def serve(host: str | None, port: int | None, workers: int | None, no_rate_limits: bool) -> None:
    """Serve the API with gunicorn.

    Before serving, synchronous runs of this host left `running` by a process that is
    gone are marked `interrupted`. Each worker process also runs queue.workers_per_server
    threads (default 2) for asynchronous runs, seals audit events about once a second and
    rolls finished runs into the dashboard's rollups every metrics.roll_interval_s.
    SIGTERM stops accepting, lets runs in flight finish (queued runs: for up to
    queue.lease_s, then they are handed back) and seals pending audit events.
    """
    config = settings()
    database(config).dispose()  # a URL that is not one stops here, with the setting named
    if no_rate_limits:
        config = replace(config, rate_limiting={**config.rate_limiting, "enabled": False})
    from a2e.startup import prepare_to_serve

    prepare_to_serve(config)
    options = gunicorn_options(
        config,
        host or config.server["host"],
        config.server["port"] if port is None else port,
        workers or config.server["workers"],
    )
    A2EServer(config, options).run()


def register(cli: click.Group) -> None:
    cli.add_command(serve)
