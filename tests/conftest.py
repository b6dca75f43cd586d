"""Shared fixtures: a migrated database per test, the app, and agents with keys.

The database is SQLite unless ``A2E_TEST_DATABASE_URL`` names a PostgreSQL server;
then the suite creates its own database there and drops it at the end. Either way
the schema comes from ``alembic upgrade head``, never from ``create_all``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from flask.testing import FlaskClient
from werkzeug import Request, Response
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from a2e.api import create_app
from a2e.config import Settings, parse_settings
from a2e.engine.clock import FakeClock
from a2e.store.models import Base
from a2e.store.queries import agents as agent_queries
from a2e.store.queries.agents import IssuedKey
from a2e.store.rollup import reset_watermark
from a2e.store.session import Database, make_engine

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("A2E_TEST_DATABASE_URL")
# No wall-clock bounds: Hypothesis neither times examples nor fails slow generation
# (the machines running the suite are shared and loaded).
hypothesis_settings.register_profile(
    "a2e", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("a2e")
SECRET = "test-secret-key-not-for-production"
#: Debian's chromium, which the browser tests drive through Playwright.
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update",
    "--disable-default-apps", "--disable-sync", "--no-first-run",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]


def alembic_config() -> Config:
    return Config(str(REPO / "alembic.ini"))


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    """Run Alembic on ``url`` through a connection we hand to env.py."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly made, empty database for this test session (not migrated)."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'empty.db'}"
        return
    name = f"a2e_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_template(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session database migrated to head (SQLite: a template file to copy)."""
    if PG_URL:
        migrate(server_url)
        return server_url
    path = tmp_path_factory.mktemp("template") / "a2e.db"
    url = f"sqlite:///{path}"
    migrate(url)
    return url


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if PG_URL:
        engine = make_engine(migrated_template)
        with engine.begin() as conn:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            conn.execute(reset_watermark())
        engine.dispose()
        return migrated_template
    target = tmp_path / "a2e.db"
    shutil.copyfile(make_url(migrated_template).database, target)
    return f"sqlite:///{target}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    yield database
    database.dispose()


@pytest.fixture
def settings_factory(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def build(**sections: dict) -> Settings:
        data = {"database": {"url": database_url}} | sections
        env = {"A2E_SECRET_KEY": SECRET, "A2E_LOG_DIR": str(tmp_path / "logs")}
        return parse_settings(data, env)

    return build


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the ``a2e`` command reads, pointed at the test database."""
    monkeypatch.setenv("A2E_DATABASE_URL", database_url)
    monkeypatch.setenv("A2E_SECRET_KEY", SECRET)
    monkeypatch.setenv("A2E_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("A2E_CONFIG", raising=False)


@pytest.fixture
def clock() -> FakeClock:
    """The clock apps made by ``make_app`` run on; test modules may override it."""
    return FakeClock()


@pytest.fixture
def make_app(settings_factory: Callable[..., Settings], clock: FakeClock) -> Iterator[Callable[..., Flask]]:
    """Apps on the test database sharing ``clock``: ``make_app(rateLimiting={...})``."""
    made: list[Flask] = []

    def make(settings: Settings | None = None, **sections: Any) -> Flask:
        application = create_app(settings or settings_factory(**sections), clock=clock)
        made.append(application)
        return application

    yield make
    for application in made:
        application.extensions["a2e"].db.dispose()


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["a2e"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_agent(db: Database) -> Callable[..., IssuedKey]:
    """Create an agent directly in the store; returns its key (once)."""

    def make(
        name: str = "agent-a",
        *,
        admin: bool = False,
        ops: list[str] | None = None,
        hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
    ) -> IssuedKey:
        with db.session(write=True) as session:
            return agent_queries.create_agent(
                session, name, admin=admin, allowed_operations=ops, allowed_hosts=hosts
            )

    return make


class HeldUpstream:
    """An upstream handler that holds every request until released, then answers ``{}``.

    It lets a test act while an ApiCall is in flight. The test's local server answers one
    request at a time and logs an answer only once it is sent, so a request still held
    when the test ends would block the next test's requests and land in its log: the
    fixture releases every held request at teardown and waits until each was logged.
    """

    def __init__(self, httpserver: Any, path: str, method: str) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._httpserver, self._path = httpserver, path
        self._count = 0
        httpserver.expect_request(path, method=method).respond_with_handler(self._hold)
        self.url = httpserver.url_for(path)

    def _hold(self, _request: Request) -> Response:
        self._count += 1
        self.arrived.set()
        self._released.wait(120)
        return Response("{}", content_type="application/json")

    @property
    def answered(self) -> int:
        return sum(1 for request, _ in self._httpserver.log if request.path == self._path)

    def release(self) -> None:
        self._released.set()

    def settle(self) -> None:
        self.release()
        deadline = time.monotonic() + 60
        while self.answered < self._count and time.monotonic() < deadline:
            time.sleep(0.01)


@pytest.fixture
def held_upstream(httpserver: Any) -> Iterator[Callable[..., HeldUpstream]]:
    """``held_upstream(path, method="GET")``: a path of ``httpserver`` that holds its requests."""
    made: list[HeldUpstream] = []

    def make(path: str = "/held", method: str = "GET") -> HeldUpstream:
        made.append(HeldUpstream(httpserver, path, method))
        return made[-1]

    yield make
    for held in made:
        held.settle()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser per module: a live sync Playwright holds an event loop on the main
    thread, so it must end before other tests start theirs (or another Playwright)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=LAUNCH_ARGS)
        yield browser
        browser.close()
