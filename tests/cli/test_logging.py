"""Serve's logging: JSON or plain lines in an owner-only file, tracebacks reduced to the exception type."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from casevault.logging import LOG_FILE_NAME, LogFormat, configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    access = logging.getLogger("uvicorn.access")
    access_state = (access.disabled, access.propagate)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    access.disabled, access.propagate = access_state


def _fail_with_pii() -> None:
    try:
        raise ValueError("insert failed for jane.doe@example.org")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")


def test_json_lines_carry_the_exception_type_but_no_traceback_or_message(tmp_path: Path) -> None:
    log_file = configure_logging(log_format=LogFormat.JSON, log_dir=tmp_path / "logs")
    assert log_file == tmp_path / "logs" / LOG_FILE_NAME

    logging.getLogger("casevault.access").info("GET %s %s", "/api/v1/cases/{number}", 200)
    _fail_with_pii()
    for handler in logging.getLogger().handlers:
        handler.flush()

    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["message"] == "GET /api/v1/cases/{number} 200"
    assert lines[0]["logger"] == "casevault.access"
    assert lines[1]["exception"] == "ValueError"
    assert "jane.doe@example.org" not in log_file.read_text(encoding="utf-8")
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_plain_lines_and_uvicorn_access_log_off(tmp_path: Path) -> None:
    log_file = configure_logging(log_format=LogFormat.PLAIN, log_dir=tmp_path / "logs")
    assert log_file is not None

    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /api/v1/customers/lookup?email=jane@x.org" 200')
    _fail_with_pii()
    for handler in logging.getLogger().handlers:
        handler.flush()

    text = log_file.read_text(encoding="utf-8")
    assert "lookup" not in text
    assert "jane" not in text
    assert text.rstrip().endswith("Exception in ASGI application exception=ValueError")
