"""The app's services are one typed composition, built by ``create_app``."""

from __future__ import annotations

from pathlib import Path

from a2e.api.app import create_app
from a2e.engine.clock import FakeClock, SystemClock

A2E = Path(__file__).resolve().parents[2] / "a2e"


def test_every_service_tells_time_by_the_clock_given_to_create_app(settings):
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    services = app.extensions["a2e"].services
    assert services.clock is clock
    assert services.runner.services.clock is clock
    assert services.rate_limits.limiter.clock is clock
    app.extensions["a2e"].db.dispose()


def test_without_a_clock_the_app_runs_on_the_system_clock(app):
    assert isinstance(app.extensions["a2e"].services.clock, SystemClock)


def test_no_module_reaches_a_service_by_a_string_key():
    readers = [
        path.relative_to(A2E).as_posix()
        for path in A2E.rglob("*.py")
        if any(spelling in path.read_text(encoding="utf-8")
               for spelling in ('services["', "services['", "services.get("))
    ]
    assert readers == []
