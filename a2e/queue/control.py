"""A queued run's stop signal, and the clock through which it reaches a sleeping run.

Each worker thread runs one run at a time; :func:`running` makes that run's
:class:`RunControl` the thread's current one, and :class:`InterruptibleClock` (the
queue runner's clock) sleeps on it, so a cancel or a hand-back ends a Wait or a retry
pause at once instead of after it. A cancel also ends an ApiCall attempt in flight
(through the HTTP watchdog, as its deadline would).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from a2e.engine.journal import HandBack
from a2e.engine.watchdog import WATCHDOG
from a2e.engine.ports import Clock
from a2e.errors import RunCancelled

CANCEL = "cancel"
HAND_BACK = "hand_back"
LOST = "lost"


class RunControl:
    """Why (if at all) a run must stop: ``cancel``, ``hand_back`` (the worker stops) or
    ``lost`` (another worker took the run over after this one's lease expired)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.reason: str | None = None
        #: Seconds of the next sleep already spent before a resume (a Wait in flight).
        self.credit_s = 0.0
        #: The thread running the run (set by :func:`running`).
        self.thread: int | None = None

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self._stop.set()
        if reason == CANCEL and self.thread is not None:
            WATCHDOG.fire_thread(self.thread)  # an ApiCall in flight ends now

    def raise_if_stopped(self) -> None:
        if self.reason == CANCEL:
            raise RunCancelled("run cancelled", details={"reason": "cancelled"})
        if self.reason is not None:
            raise HandBack(self.reason)

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, less any credit; raise as soon as the run must stop."""
        seconds, self.credit_s = seconds - self.credit_s, 0.0
        if seconds > 0:
            self._stop.wait(seconds)
        self.raise_if_stopped()


_current = threading.local()


@contextmanager
def running(control: RunControl) -> Iterator[RunControl]:
    """Make ``control`` this thread's current run for the block."""
    _current.control = control
    control.thread = threading.get_ident()
    try:
        yield control
    finally:
        _current.control = None


class InterruptibleClock:
    """``base``'s time; sleeps of a queued run wait on its :class:`RunControl`."""

    def __init__(self, base: Clock) -> None:
        self.base = base

    def now(self) -> datetime:
        return self.base.now()

    def monotonic(self) -> float:
        return self.base.monotonic()

    def sleep(self, seconds: float) -> None:
        control: RunControl | None = getattr(_current, "control", None)
        if control is None:
            self.base.sleep(seconds)
        else:
            control.wait(seconds)
