"""`casevault staff create/list/disable` and `token create`, on SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casevault.audit.models import AuditEvent
from casevault.cli import app
from casevault.db import Database
from casevault.identity import Staff, StaffStatus, authenticate_token

runner = CliRunner()


@pytest.fixture
def target(tmp_path: Path, database_url: str) -> list[str]:
    """The --data-dir/--database-url options for a migrated database of either kind."""
    return ["--data-dir", str(tmp_path), "--database-url", database_url]


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_create_list_and_audit(target: list[str], database_url: str) -> None:
    code, output = _run(
        "staff", "create", "--username", "alice", "--display-name", "Alice Hart", "--role", "agent", *target
    )
    assert code == 0, output

    code, listing = _run("staff", "list", *target)

    assert code == 0
    assert "alice" in listing
    assert "Alice Hart" in listing
    assert "agent" in listing
    assert "active" in listing
    db = Database(database_url)
    with db.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "staff.created")).one()
        staff = session.scalars(select(Staff).where(Staff.username == "alice")).one()
        assert event.target_id == str(staff.id)
        assert event.actor_label == f"cli:{getpass.getuser()}"
    db.dispose()


def test_duplicate_and_invalid_input_are_refused_cleanly(target: list[str]) -> None:
    _run("staff", "create", "--username", "bob", "--display-name", "Bob", "--role", "agent", *target)

    duplicate = _run("staff", "create", "--username", "bob", "--display-name", "Bob 2", "--role", "agent", *target)
    bad_name = _run("staff", "create", "--username", "Bob Smith", "--display-name", "B", "--role", "agent", *target)
    bad_role = _run("staff", "create", "--username", "carol", "--display-name", "C", "--role", "root", *target)

    assert duplicate[0] == 1
    assert "already exists" in duplicate[1]
    assert bad_name[0] == 2
    assert "--username" in bad_name[1]
    assert bad_role[0] == 2
    assert all("Traceback" not in output for _, output in (duplicate, bad_name, bad_role))


def test_token_create_prints_a_working_scoped_secret_once(target: list[str], database_url: str) -> None:
    _run("staff", "create", "--username", "dana", "--display-name", "Dana", "--role", "agent", *target)

    result = runner.invoke(
        app,
        ["token", "create", "--username", "dana", "--name", "ci", "--scope", "case:read", "--ttl-days", "2", *target],
    )

    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("cvt_")
    db = Database(database_url)
    with db.unit_of_work() as session:
        actor = authenticate_token(session, secret)
        assert actor is not None
        assert actor.username == "dana"
        assert actor.scopes == frozenset({"case:read"})
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "token.created")).one()
        assert secret not in str(event.detail)
        assert event.detail["scopes"] == ["case:read"]
    db.dispose()


def test_token_scopes_must_exist_and_fit_the_role(target: list[str]) -> None:
    _run("staff", "create", "--username", "erin", "--display-name", "Erin", "--role", "security_officer", *target)
    base = ["token", "create", "--username", "erin", "--name", "t", *target]

    beyond_role = _run(*base, "--scope", "case:assign")
    unknown = _run(*base, "--scope", "case:delete_everything")
    missing = _run(*base)
    no_such_user = _run("token", "create", "--username", "nobody", "--name", "t", "--scope", "audit:read", *target)

    assert beyond_role[0] == 2
    assert "does not hold case:assign" in beyond_role[1]
    assert unknown[0] == 2
    assert "unknown scope" in unknown[1]
    assert missing[0] == 2
    assert no_such_user[0] == 1
    assert "no staff member" in no_such_user[1]


def test_disable_suspends_and_revokes_every_token(target: list[str], database_url: str) -> None:
    _run("staff", "create", "--username", "frank", "--display-name", "Frank", "--role", "supervisor", *target)
    secrets = [
        runner.invoke(
            app, ["token", "create", "--username", "frank", "--name", f"t{i}", "--scope", "case:read", *target]
        )
        .stdout.strip()
        .splitlines()[-1]
        for i in range(2)
    ]

    code, output = _run("staff", "disable", "frank", *target)

    assert code == 0, output
    assert "revoked 2" in output
    db = Database(database_url)
    with db.unit_of_work() as session:
        assert all(authenticate_token(session, secret) is None for secret in secrets)
        staff = session.scalars(select(Staff).where(Staff.username == "frank")).one()
        assert staff.status == StaffStatus.SUSPENDED
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions[-4:] == ["token.revoked", "token.revoked", "session.revoked", "staff.suspended"]
    db.dispose()
    refused = _run("token", "create", "--username", "frank", "--name", "x", "--scope", "case:read", *target)
    assert refused[0] == 1
    assert "suspended" in refused[1]
