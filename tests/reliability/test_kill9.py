"""`kill -9` of `casevault serve` during a burst of case creations loses no acknowledged case or audit event.

The server runs as a real subprocess on a free loopback port, on SQLite (WAL, synchronous=FULL) and on
PostgreSQL. Every case number the server acknowledged with 201 must be readable after a restart, and the audit
chain must verify, and the server's log file must hold none of the PII or the token. Start-up refusals (missing
or wrong key file: exit 1, a clear message, nothing listening) are checked in-process in
tests/cli/test_server_cli.py, where uvicorn would bind the port in the same process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casevault.audit.models import AuditEvent
from casevault.cli import app
from casevault.cli.server import init_data_dir
from casevault.config import Settings
from casevault.db import Database
from casevault.demo.one_agent import seed_one_agent

pytestmark = pytest.mark.slow

_ACKS_BEFORE_KILL = 12
_THREADS = 4
_STARTUP_SECONDS = 30.0


@dataclass(frozen=True)
class Deployment:
    data_dir: Path
    database_url: str
    token: str
    customer: str  # reference


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _serve(deployment: Deployment, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "casevault", "serve", "--data-dir", str(deployment.data_dir), "--port", str(port)],
        env={**os.environ, "CASEVAULT_DATABASE_URL": deployment.database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"server exited with {process.returncode}: {stderr}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("server did not become healthy")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()


def _deploy(tmp_path: Path, database_url: str) -> Deployment:
    """An initialised data directory with a queue, an agent in it with an API token, and one customer."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    # On PostgreSQL the server logs in as a role inside casevault_app, as production must (serve refuses the owner).
    serving_role = "casevault_test_web" if database_url.startswith("postgresql") else None
    serving_url = init_data_dir(settings, serving_role=serving_role).serving_url
    seeded = seed_one_agent(
        settings, label="burst", customer_name="Kim Reliable", customer_email="kim@example.org", country="NL"
    )
    return Deployment(settings.data_dir, serving_url or database_url, seeded.token, seeded.customer)


@pytest.fixture
def deployment(tmp_path: Path, database_url: str) -> Deployment:
    """On SQLite and on PostgreSQL."""
    return _deploy(tmp_path, database_url)


def _burst(deployment: Deployment, port: int, acknowledged: list[str], stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {deployment.token}"}
    body = {
        "customer": deployment.customer,
        "queue": "burst",
        "subject": "Printer offline again",
        "description": "Kim Reliable reports the printer at 10.1.2.3 is offline; call +31 20 123 4567.",
    }
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10.0) as client:
        while not stop.is_set():
            try:
                response = client.post("/api/v1/cases", json=body)
            except httpx.TransportError:
                return  # the server is gone: this request was never acknowledged
            if response.status_code == 201:
                acknowledged.append(response.json()["number"])


def _audit_verifies(deployment: Deployment) -> None:
    """`casevault audit verify` when it is wired in; otherwise the audit library's verify()."""
    cli = CliRunner().invoke(app, ["audit", "verify", "--help"])
    if cli.exit_code == 0:
        completed = subprocess.run(
            [sys.executable, "-m", "casevault", "audit", "verify", "--data-dir", str(deployment.data_dir)],
            env={**os.environ, "CASEVAULT_DATABASE_URL": deployment.database_url},
            capture_output=True,
            check=False,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stdout.decode() + completed.stderr.decode()
        return
    from casevault.audit.verify import verify

    db = Database(deployment.database_url)
    try:
        report = verify(db.engine, keys=[])
    finally:
        db.dispose()
    assert report.ok, report.message
    assert report.events_checked > _ACKS_BEFORE_KILL


def test_kill_9_mid_burst_loses_no_acknowledged_case(deployment: Deployment) -> None:
    port = _free_port()
    server = _serve(deployment, port)
    acknowledged: list[str] = []
    stop = threading.Event()
    try:
        _wait_healthy(server, port)
        workers = [
            threading.Thread(target=_burst, args=(deployment, port, acknowledged, stop), daemon=True)
            for _ in range(_THREADS)
        ]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < _ACKS_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)  # mid-burst: workers are still sending
        server.wait(timeout=10)
        stop.set()
        for worker in workers:
            worker.join(timeout=15)
    finally:
        stop.set()
        _stop(server)
    assert server.returncode == -signal.SIGKILL
    assert len(acknowledged) >= _ACKS_BEFORE_KILL
    assert len(set(acknowledged)) == len(acknowledged)

    restarted = _serve(deployment, port)
    try:
        _wait_healthy(restarted, port)
        headers = {"Authorization": f"Bearer {deployment.token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10.0) as client:
            missing = [n for n in acknowledged if client.get(f"/api/v1/cases/{n}").status_code != 200]
            # PII in a query string and in a rejected body: neither may reach a log line.
            client.get("/api/v1/customers/lookup", params={"email": "kim@example.org"})
            assert client.post("/api/v1/cases", json={"customer": "kim@example.org"}).status_code == 422
    finally:
        _stop(restarted)
    assert missing == []
    log = (deployment.data_dir / "logs" / "casevault.log").read_text(encoding="utf-8")
    assert "POST /cases 201" in log
    for secret in ("kim@example.org", "kim%40example.org", "Kim Reliable", "+31 20 123 4567", "10.1.2.3"):
        assert secret not in log
    assert deployment.token not in log

    db = Database(deployment.database_url)
    with db.sessions() as session:
        created = set(session.scalars(select(AuditEvent.target_id).where(AuditEvent.action == "case.created")).all())
    db.dispose()
    assert set(acknowledged) <= created
    _audit_verifies(deployment)
