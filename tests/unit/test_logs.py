"""JSON log lines, tracebacks of logged exceptions included."""

from __future__ import annotations

import json
import logging
import os

import pytest

from a2e.logs import configure_logging


def _lines(log_dir) -> list[dict]:
    for handler in logging.getLogger("a2e").handlers:
        handler.flush()
    text = (log_dir / "a2e.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def _fail_deep_inside() -> None:
    raise ZeroDivisionError("nothing to divide by")


def test_a_logged_exception_carries_its_type_and_traceback(tmp_path):
    configure_logging(str(tmp_path))
    try:
        _fail_deep_inside()
    except ZeroDivisionError:
        logging.getLogger("a2e.test").exception("the step broke", extra={"request_id": "r-1"})
    (line,) = _lines(tmp_path)
    assert line["level"] == "ERROR" and line["logger"] == "a2e.test"
    assert line["message"] == "the step broke" and line["request_id"] == "r-1"
    assert line["exception"] == "ZeroDivisionError"
    assert line["traceback"].startswith("Traceback (most recent call last)")
    assert "_fail_deep_inside" in line["traceback"]
    assert "ZeroDivisionError: nothing to divide by" in line["traceback"]


def test_a_plain_line_has_no_traceback_and_only_known_fields(tmp_path):
    configure_logging(str(tmp_path))
    logging.getLogger("a2e.test").info("%s done", "run", extra={"status": 200, "other": "x"})
    (line,) = _lines(tmp_path)
    assert set(line) == {"ts", "level", "logger", "message", "status"}
    assert line["message"] == "run done"


def test_a_record_logged_without_its_caller_makes_the_same_line(tmp_path, monkeypatch):
    from a2e.logs import log_record

    configure_logging(str(tmp_path))
    logger = logging.getLogger("a2e.test")
    logger.info("%s done", "run", extra={"status": 200})
    with monkeypatch.context() as patched:  # no walk up the stack for the file and line
        patched.setattr(logging.Logger, "findCaller", lambda *a, **k: pytest.fail("findCaller"))
        log_record(logger, logging.INFO, "%s done", "run", extra={"status": 200})
        log_record(logger, logging.DEBUG, "below the level", extra={})
    plain, fast = _lines(tmp_path)
    assert {**fast, "ts": None} == {**plain, "ts": None}
    assert fast["message"] == "run done" and fast["status"] == 200


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("a2e.test", logging.INFO, __file__, 1, message, None, None)


def test_the_log_file_rolls_over_at_its_size_without_a_stat_per_record(tmp_path, monkeypatch):
    from a2e.logs import JsonFormatter, RotatingFile

    handler = RotatingFile(tmp_path / "a2e.log", maxBytes=1000, backupCount=2, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    try:
        handler.emit(_record("opened"))
        with monkeypatch.context() as patched:  # the decision alone touches no path
            patched.setattr(os, "stat", lambda *a, **k: pytest.fail("a stat per record"))
            assert not handler.shouldRollover(_record("short"))
            assert handler.shouldRollover(_record("x" * 1000))
        for n in range(30):
            handler.emit(_record(f"line {n}"))
    finally:
        handler.close()
    assert (tmp_path / "a2e.log.1").exists()
    assert (tmp_path / "a2e.log").stat().st_size < 1000


def test_a_log_path_that_is_no_regular_file_never_rolls_over(tmp_path):
    from a2e.logs import RotatingFile

    handler = RotatingFile(os.devnull, maxBytes=10, backupCount=1)
    try:
        assert not handler.shouldRollover(_record("x" * 100))
    finally:
        handler.close()
