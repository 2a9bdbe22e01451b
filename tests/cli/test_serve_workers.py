"""`casevault serve --workers N`: several processes on one port, each with the settings, key file and checks.

The multi-process server runs as a real subprocess on PostgreSQL; the refusals are checked through the CLI
(SQLite) and by calling a worker's app factory directly (a worker whose checks fail must exit with uvicorn's
STARTUP_FAILURE, which stops the parent instead of restarting the worker forever).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner
from uvicorn.config import STARTUP_FAILURE

from casevault.cli import app
from casevault.cli import server as server_cli
from casevault.cli.server import init_data_dir, worker_app
from casevault.config import Settings
from casevault.demo.one_agent import seed_one_agent

runner = CliRunner()
CUSTOMER_NAME = "Wilma Workers"
CUSTOMER_EMAIL = "wilma.workers@example.org"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    port = _free_port()

    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", "2"])

    assert result.exit_code == 1
    assert "--workers above 1 needs PostgreSQL" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not _listening(port)


def test_serve_rejects_zero_workers_as_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), "--workers", "0"])

    assert result.exit_code == 2


def test_a_worker_whose_key_file_is_missing_exits_with_startup_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    (data_dir / "keys" / "master.key").unlink()
    monkeypatch.setenv("CASEVAULT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CASEVAULT_DATABASE_URL", raising=False)
    # The worker would route the test process's logging to its files; the refusal itself is what is tested.
    monkeypatch.setattr(server_cli, "configure_logging", lambda **_: None)

    with pytest.raises(SystemExit) as exited:
        worker_app()

    assert exited.value.code == STARTUP_FAILURE


def _deploy(data_dir: Path, database_url: str) -> tuple[str, str, str]:
    """Seeded as the owner; returns the token, the customer and the URL of the role to serve as."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    serving_url = init_data_dir(settings, serving_role="casevault_test_web").serving_url
    assert serving_url is not None
    deployment = seed_one_agent(
        settings, label="workers", customer_name=CUSTOMER_NAME, customer_email=CUSTOMER_EMAIL, country="DE"
    )
    return deployment.token, deployment.customer, serving_url


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_two_workers_serve_one_port_with_their_own_logs(tmp_path: Path, pg_database: str) -> None:
    data_dir = tmp_path / "data"
    token, customer, serving_url = _deploy(data_dir, pg_database)
    port = _free_port()
    command = [sys.executable, "-m", "casevault", "serve", "--data-dir", str(data_dir)]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "2"],
        env={**os.environ, "CASEVAULT_DATABASE_URL": serving_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"server exited with {server.returncode}"
            assert time.monotonic() < deadline, "server did not become healthy"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        workers = _children(server.pid)
        # uvicorn's supervisor also starts multiprocessing's resource tracker; the workers are the rest.
        assert len([pid for pid in workers if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]) >= 2

        headers = {"Authorization": f"Bearer {token}"}
        body = {"customer": customer, "queue": "workers", "subject": "VPN down", "description": "Wilma cannot connect."}
        numbers = []
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for _ in range(6):
                # A new connection each time, so the kernel spreads them over both workers' accept calls.
                created = client.post("/api/v1/cases", json=body, headers={"connection": "close"})
                assert created.status_code == 201, created.text
                numbers.append(created.json()["number"])
                read = client.get(f"/api/v1/cases/{numbers[-1]}", headers={"connection": "close"})
                assert read.status_code == 200
                assert read.json()["customer"]["reference"] == customer
        assert len(set(numbers)) == 6
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    assert server.returncode == 0
    logs = data_dir / "logs"
    worker_logs = sorted(path.name for path in logs.glob("casevault-worker-*.log"))
    assert worker_logs == ["casevault-worker-0.log", "casevault-worker-1.log"]
    text = "".join(path.read_text() for path in logs.glob("*.log"))
    # Each worker logs the requests it served (route templates only) to its own file.
    assert text.count("INFO casevault.access POST /cases 201") == 6
    for secret in (token, CUSTOMER_EMAIL, "Wilma"):
        assert secret not in text
