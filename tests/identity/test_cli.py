"""`casevault staff reset-mfa | unlock | set-password` through the real CLI (typer's CliRunner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casevault.audit.models import AuditEvent
from casevault.cli import app as cli_app
from casevault.crypto import LocalKeyFile
from casevault.db import Database
from casevault.detection import Alert
from casevault.identity import FixedClock, StaffSession

from .conftest import PASSWORD, Browser, MakeStaff, sign_in_with_totp

runner = CliRunner()


def _run(tmp_path: Path, database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        cli_app, ["staff", *args, "--data-dir", str(tmp_path), "--database-url", database_url], input=stdin
    )
    return result.exit_code, result.output


@pytest.mark.postgres
def test_reset_mfa_from_the_shell(
    tmp_path: Path, database_url: str, browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database
) -> None:
    account = make_staff("cora", totp=True)
    client = browser()
    sign_in_with_totp(client, account, clock)
    code, output = _run(tmp_path, database_url, "reset-mfa", "--username", "cora", "--reason", "ticket 77", "--yes")
    assert code == 0, output
    assert "alert raised" in output
    assert client.get("/api/v1/auth/session").status_code == 401
    login = browser().post("/api/v1/auth/login", json={"username": "cora", "password": PASSWORD})
    assert login.json()["enrolment_required"] is True
    with db.sessions() as session:
        assert session.scalars(select(Alert.kind)).all() == ["mfa.reset"]
        assert session.scalars(select(StaffSession.revoked_reason)).all()[0] == "mfa reset"


def test_unknown_user_and_missing_reason_are_usage_errors(
    tmp_path: Path, database_url: str, key_provider: LocalKeyFile
) -> None:
    code, output = _run(tmp_path, database_url, "reset-mfa", "--username", "nobody", "--reason", "x", "--yes")
    assert code == 2
    assert "--reason" in output
    code, output = _run(tmp_path, database_url, "unlock", "--username", "nobody")
    assert code == 2
    assert "no staff member" in output
    assert "Traceback" not in output


def test_unlock_and_set_password(
    tmp_path: Path, database_url: str, browser: Browser, make_staff: MakeStaff, db: Database
) -> None:
    make_staff("dora")
    client = browser()
    for _ in range(3):
        client.post("/api/v1/auth/login", json={"username": "dora", "password": "wrong-password-123"})
    assert client.post("/api/v1/auth/login", json={"username": "dora", "password": PASSWORD}).status_code == 429
    code, output = _run(tmp_path, database_url, "unlock", "--username", "dora")
    assert code == 0, output
    assert "unlocked" in output
    assert client.post("/api/v1/auth/login", json={"username": "dora", "password": PASSWORD}).status_code == 200

    code, output = _run(
        tmp_path, database_url, "set-password", "--username", "dora", "--password-stdin", stdin="password1234\n"
    )
    assert code == 2
    assert "common" in output
    new_password = "amber-glacier-violin-58"
    code, output = _run(
        tmp_path, database_url, "set-password", "--username", "dora", "--password-stdin", stdin=new_password + "\n"
    )
    assert code == 0, output
    assert "1 session(s) ended" in output
    assert new_password not in output
    assert client.post("/api/v1/auth/login", json={"username": "dora", "password": new_password}).status_code == 200
    with db.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"staff.unlocked", "password.changed"} <= actions
