"""Retry fixtures: the cache tests' apps on a FakeClock (sleeps return at once, recorded)."""

from tests.cache.conftest import app, clock, execute  # noqa: F401
