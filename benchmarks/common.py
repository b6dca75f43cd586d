"""What every benchmark module shares: the Figure protocol, the table, scratch databases.

A benchmark module exposes ``run(quick: bool) -> list[Figure]``; ``python -m benchmarks``
calls each one and prints one table. A figure with a ``goal`` is judged pass or miss;
a relative goal (``at_least(0.7, relative=True)``) is judged against ``baseline``.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from a2e.api import create_app
from a2e.config import parse_settings
from a2e.store.session import make_engine

REPO = Path(__file__).resolve().parent.parent
#: The PostgreSQL server scratch databases are made on (as ``.ci/run``'s default).
POSTGRES_SERVER = os.environ.get(
    "A2E_BENCH_POSTGRES", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


@dataclass(frozen=True)
class Goal:
    """``value <= bound`` or ``value >= bound``; ``relative``: bound × the figure's baseline."""

    at_most: bool
    bound: float
    relative: bool = False

    def met(self, value: float, baseline: float | None) -> bool | None:
        if self.relative and not baseline:
            return None
        limit = self.bound * baseline if self.relative and baseline else self.bound
        return value <= limit if self.at_most else value >= limit

    def describe(self, unit: str) -> str:
        sign = "≤" if self.at_most else "≥"
        return f"{sign} {self.bound:g}× baseline" if self.relative else f"{sign} {self.bound:g} {unit}"


def at_most(bound: float, *, relative: bool = False) -> Goal:
    return Goal(True, bound, relative)


def at_least(bound: float, *, relative: bool = False) -> Goal:
    return Goal(False, bound, relative)


@dataclass(frozen=True)
class Figure:
    """One measured figure. ``baseline`` is the reference it is compared with, same unit."""

    name: str
    value: float
    unit: str
    goal: Goal | None = None
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def verdict(self) -> str:
        met = self.goal.met(self.value, self.baseline) if self.goal else None
        return "" if met is None else ("pass" if met else "MISS")


def skipped(name: str, reason: str) -> Figure:
    """A figure that could not be measured here (NaN value, the reason as its note)."""
    return Figure(name, float("nan"), "", note=f"skipped: {reason}")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if value != value:  # NaN: not measured
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def table(figures: Sequence[Figure]) -> str:
    """A Markdown table: figure, value, unit, baseline, ratio, goal, result, note."""
    head = ("figure", "value", "unit", "baseline", "ratio", "goal", "result", "note")
    rows = [
        (
            f.name, _number(f.value), f.unit, _number(f.baseline),
            f"{f.ratio:.2f}×" if f.ratio is not None else "",
            f.goal.describe(f.unit) if f.goal else "", f.verdict, f.note,
        )
        for f in figures
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# -- timing -------------------------------------------------------------------------

def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0–1) by the nearest-rank method."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def timed_ms(call: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls, one sample each (after one warm-up call)."""
    call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``call`` repeated for ``seconds`` (after one warm-up call)."""
    call()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        call()
        count += 1
    return count / elapsed


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def quiet_console() -> None:
    """Keep the app's log lines off the console (its log file still gets them all)."""
    for handler in logging.getLogger("a2e").handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.WARNING)


def log(message: str) -> None:
    """Progress on stderr, so that stdout holds only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the app and databases ----------------------------------------------------------------------

#: Limits high enough never to refuse, so that admission is still counted in SQL.
UNLIMITED = {key: 10**9 for key in (
    "requests_per_minute", "requests_per_hour", "requests_per_day",
    "api_calls_per_minute", "api_calls_per_hour", "concurrent_runs")}


def bench_app(url: str, log_dir: str) -> Flask:
    """The app on ``url`` with limits that never refuse and a quiet console."""
    settings = parse_settings(
        {"database": {"url": url}, "rateLimiting": UNLIMITED},
        {"A2E_SECRET_KEY": "benchmark-secret", "A2E_LOG_DIR": log_dir},
    )
    app = create_app(settings)
    quiet_console()
    return app


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url`` through a connection handed to env.py."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = Config(str(REPO / "alembic.ini"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def postgres_available() -> bool:
    engine = make_engine(POSTGRES_SERVER)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means: no server to use
        return False
    finally:
        engine.dispose()


def _pgdb(action: str, name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "pgdb.py"), action, POSTGRES_SERVER, name],
        check=True, capture_output=True, text=True,
    )
    return done.stdout.strip()


@contextmanager
def scratch_database(dialect: str, name: str) -> Iterator[str]:
    """A migrated, empty database (``sqlite`` file or ``postgresql`` database), then gone."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as directory:
            url = f"sqlite:///{directory}/a2e.db"
            migrate(url)
            yield url
        return
    url = _pgdb("create", name)
    try:
        migrate(url)
        yield url
    finally:
        _pgdb("drop", name)


def dialects() -> list[str]:
    """``sqlite``, plus ``postgresql`` when its server answers."""
    return ["sqlite", "postgresql"] if postgres_available() else ["sqlite"]


