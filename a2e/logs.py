"""JSON-lines logging to ``<log_dir>/a2e.log`` (rotating) and stderr."""

from __future__ import annotations

import logging
import logging.handlers
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pythonjsonlogger import json as jsonlogger

from a2e.timestamps import iso

#: Extra attributes copied from a record into its JSON line when present.
FIELDS = ("request_id", "agent_id", "method", "path", "status", "duration_ms", "remote_addr")
#: Where a record keeps the line its formatter made of it.
_LINE = "_a2e_line"


class JsonFormatter(jsonlogger.JsonFormatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``message``, the request
    fields present, and for a logged exception its ``exception`` type and ``traceback``."""

    def __init__(self) -> None:
        super().__init__(json_default=str)

    def format(self, record: logging.LogRecord) -> str:
        """The record's line, made once however many handlers write it (the file
        handler asks twice per record: to decide on rollover, then to write)."""
        made = record.__dict__.get(_LINE)
        if made is not None and made[0] is self:
            return made[1]
        line = super().format(record)
        record.__dict__[_LINE] = (self, line)
        return line

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["ts"] = iso(datetime.fromtimestamp(record.created, timezone.utc))
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        for name in FIELDS:
            if hasattr(record, name):
                log_data[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            log_data["exception"] = record.exc_info[0].__name__
        if message_dict.get("exc_info"):
            log_data["traceback"] = message_dict["exc_info"]
        if message_dict.get("stack_info"):
            log_data["stack"] = message_dict["stack_info"]


def log_record(logger: logging.Logger, level: int, msg: str, *args: object,
               extra: dict[str, Any]) -> None:
    """``logger.log(level, msg, *args, extra=extra)`` without looking up the caller's file
    and line (a walk up the stack per record), which no line of ours carries."""
    if logger.isEnabledFor(level):
        logger.handle(logger.makeRecord(logger.name, level, "", 0, msg, args, None, extra=extra))


class RotatingFile(logging.handlers.RotatingFileHandler):
    """The standard size-rotating handler, minus its two ``stat`` calls per record (whether
    the path is a regular file, which only one of those may roll over): that is looked up
    once, whenever the file is opened."""

    _regular = True

    def _open(self) -> Any:
        stream = super()._open()
        self._regular = os.path.isfile(self.baseFilename)
        return stream

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        if self.stream is None:
            self.stream = self._open()
        if self.maxBytes <= 0 or not self._regular:
            return False
        line = f"{self.format(record)}\n"
        self.stream.seek(0, 2)  # the file's end, wherever other processes' lines took it
        return self.stream.tell() + len(line) >= self.maxBytes


def configure_logging(log_dir: str, level: int = logging.INFO) -> None:
    """Send the ``a2e`` loggers to the rotating file and stderr (idempotent)."""
    root = logging.getLogger("a2e")
    if getattr(root, "_a2e_configured", None) == log_dir:
        return
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    formatter = JsonFormatter()
    file_handler = RotatingFile(
        Path(log_dir) / "a2e.log", maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    stream_handler = logging.StreamHandler()
    for handler in (file_handler, stream_handler):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    root._a2e_configured = log_dir  # type: ignore[attr-defined]
