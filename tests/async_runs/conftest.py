"""An app with a real queue worker (threads in this process) on the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from a2e.api import create_app
from a2e.config import Settings
from a2e.queue.worker import QueueWorker


@pytest.fixture
def queue_app(settings_factory: Callable[..., Settings]) -> Iterator[Callable[..., Flask]]:
    """``queue_app(threads=2, **sections)``: an app whose queue worker runs on the real clock."""
    made: list[tuple[Flask, QueueWorker | None]] = []

    def make(threads: int = 2, **sections: Any) -> Flask:
        sections.setdefault("queue", {"lease_s": 2, "poll_s": 0.1})
        application = create_app(settings_factory(**sections))
        worker = QueueWorker(application, threads).start() if threads else None
        made.append((application, worker))
        return application

    yield make
    for application, worker in made:
        if worker is not None:
            worker.stop(grace_s=5)
        application.extensions["a2e"].db.dispose()
