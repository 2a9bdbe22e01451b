"""Over a real uvicorn server on loopback: a write is committed before its response, so the next request sees it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pyotp
import pytest
import uvicorn
from fastapi import FastAPI

from casevault.identity import FixedClock

from .conftest import PASSWORD, MakeStaff


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_rotated_session_works_on_the_very_next_request(
    live_url: str, make_staff: MakeStaff, clock: FixedClock
) -> None:
    make_staff("liv")
    with httpx.Client(base_url=live_url, headers={"user-agent": "live-test/1"}) as client:
        login = client.post("/api/v1/auth/login", json={"username": "liv", "password": PASSWORD})
        assert login.status_code == 200
        token = login.json()["csrf_token"]
        secret = client.post("/api/v1/auth/mfa/totp/enrol", headers={"x-csrf-token": token}).json()["secret"]
        verified = client.post(
            "/api/v1/auth/mfa/totp", json={"code": pyotp.TOTP(secret).at(clock.now())}, headers={"x-csrf-token": token}
        )
        assert verified.status_code == 200, verified.text
        for _ in range(5):
            assert client.get("/api/v1/auth/sessions").status_code == 200
