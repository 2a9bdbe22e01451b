"""The demo's printed sign-in details work: password, then a TOTP code from the printed secret, then cases."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from casevault.app import create_app
from casevault.cli import app
from casevault.config import Settings

runner = CliRunner()


def test_printed_password_and_totp_secret_sign_an_agent_in(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--data-dir", str(data_dir), "--no-serve", "--cases", "6", "--customers", "6"])
    assert result.exit_code == 0, result.output
    password = re.search(r"with password (\S+) ", result.output)
    secret = re.search(r"^\s+alice\s+totp ([A-Z2-7]+)$", result.output, re.MULTILINE)
    assert password is not None, result.output
    assert secret is not None, result.output

    settings = Settings(data_dir=data_dir, demo=True, cookie_secure=False)
    with TestClient(create_app(settings), base_url="http://localhost:8000") as client:
        # Password alone opens a session that reaches no case data.
        login = client.post("/api/v1/auth/login", json={"username": "alice", "password": password.group(1)})
        assert login.status_code == 200, login.text
        assert client.get("/api/v1/cases").status_code == 401
        wrong = client.post("/api/v1/auth/login", json={"username": "alice", "password": "not-the-password"})
        assert wrong.status_code == 401

        login = client.post("/api/v1/auth/login", json={"username": "alice", "password": password.group(1)})
        csrf = login.json()["csrf_token"]
        code = pyotp.TOTP(secret.group(1)).now()
        verified = client.post("/api/v1/auth/mfa/totp", json={"code": code}, headers={"X-CSRF-Token": csrf})
        assert verified.status_code == 200, verified.text
        cases = client.get("/api/v1/cases")
        assert cases.status_code == 200
        assert cases.json()["total"] >= 1
