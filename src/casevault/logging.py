"""Logging for `casevault serve`: JSON or plain lines to stderr and a rotating file, with no PII.

The app's middleware logs route templates only; uvicorn's own access log is switched off because raw paths and
query strings can carry emails. Tracebacks are reduced to the exception type: SQL errors render bound
parameters, and a traceback's local values are exactly what must never reach a log.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

__all__ = ["LOG_FILE_NAME", "LogFormat", "PiiSafeFilter", "configure_logging"]

LOG_FILE_NAME = "casevault.log"
_MAX_LOG_BYTES = 10_000_000
_LOG_BACKUPS = 5


class LogFormat(StrEnum):
    """How each log line is written."""

    PLAIN = "plain"
    JSON = "json"


class PiiSafeFilter(logging.Filter):
    """Replaces a record's exception and stack text with the exception's type name."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_type_name = record.exc_info[0].__name__
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


class _FormattedOnce(logging.Formatter):
    """Formats a record once for all handlers that share this formatter.

    With a log file each record is formatted three times otherwise (stderr, the rotating handler's size check, the
    file): logging the access line of every request took ~3 % of the server's CPU, half of it formatting.
    """

    def format(self, record: logging.LogRecord) -> str:
        cached = record.__dict__.get(_FORMATTED)
        if cached is not None and cached[0] is self:
            return str(cached[1])
        text = self.format_record(record)
        record.__dict__[_FORMATTED] = (self, text)
        return text

    def format_record(self, record: logging.LogRecord) -> str:
        raise NotImplementedError


_FORMATTED = "_casevault_formatted"


class _JsonFormatter(_FormattedOnce):
    def format_record(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage().rstrip(),
        }
        exc_type = getattr(record, "exc_type_name", None)
        if exc_type:
            line["exception"] = exc_type
        return json.dumps(line, ensure_ascii=True)


class _PlainFormatter(_FormattedOnce):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format_record(self, record: logging.LogRecord) -> str:
        text = super(_FormattedOnce, self).format(record).rstrip()
        exc_type = getattr(record, "exc_type_name", None)
        return f"{text} exception={exc_type}" if exc_type else text


def configure_logging(
    *,
    log_format: LogFormat = LogFormat.PLAIN,
    log_dir: Path | None = None,
    level: int = logging.INFO,
    file_name: str = LOG_FILE_NAME,
) -> Path | None:
    """Route casevault's and uvicorn's loggers to stderr (and `log_dir`/`file_name`); returns the log file.

    One file per process: rotation is not safe across processes (`serve --workers` gives each worker its own).
    """
    formatter: logging.Formatter = _JsonFormatter() if log_format is LogFormat.JSON else _PlainFormatter()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    log_file: Path | None = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_file = log_dir / file_name
        # Create it owner-only before the handler opens it: logs are operational data, not for everyone.
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=_MAX_LOG_BYTES, backupCount=_LOG_BACKUPS, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(PiiSafeFilter())

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    return log_file
