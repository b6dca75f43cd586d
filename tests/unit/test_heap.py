"""Startup objects frozen out of the cyclic collector (``a2e.heap``), and the server's
worker freezing its own once its app is built."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from a2e.cli.serve import A2EServer, gunicorn_options
from a2e.config import Settings
from a2e.heap import freeze_startup_objects


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process's objects go back to the collector


def tracked(thing: object) -> bool:
    """Whether a collection would walk ``thing`` (frozen objects are in no generation)."""
    return any(found is thing for found in gc.get_objects())


def test_startup_garbage_is_collected_and_the_rest_frozen(thawed: None) -> None:
    kept, garbage = Node(), weakref.ref(Node())
    assert tracked(kept)
    frozen = freeze_startup_objects()
    assert garbage() is None  # collected first, not frozen for good
    # frozen objects still die (another thread may drop one at any time): the count
    # can only have gone down since
    assert 0 < gc.get_freeze_count() <= frozen
    assert not tracked(kept)
    assert tracked(Node())  # what comes after is the collector's as before


def test_a_server_worker_freezes_once_its_app_is_built(thawed: None, settings_factory) -> None:
    config: Settings = settings_factory(queue={"workers_per_server": 0})
    server = A2EServer(config, gunicorn_options(config, "127.0.0.1", 0, 1))
    app = server.load()
    try:
        assert gc.get_freeze_count() > 0
        assert not tracked(app) and not tracked(app.extensions["a2e"])
    finally:
        app.extensions["a2e"].db.dispose()
