"""`casevault init`, `serve` (start-up refusals) and `demo --no-serve`, through the CLI."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from casevault.audit.models import AuditEvent
from casevault.cases.models import Case, Customer
from casevault.cli import app
from casevault.crypto import LocalKeyFile
from casevault.db import Database
from casevault.identity import authenticate_token

runner = CliRunner()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_private_data_dir_key_file_and_schema(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    result = runner.invoke(app, ["init", "--data-dir", str(data_dir)])

    assert result.exit_code == 0, result.output
    assert _mode(data_dir) == 0o700
    key_file = data_dir / "keys" / "master.key"
    assert _mode(key_file) == 0o600
    assert "created" in result.output
    assert "migrated" in result.output
    db = Database(f"sqlite:///{data_dir / 'casevault.db'}")
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
    db.dispose()


def test_init_twice_keeps_the_key_file_and_says_nothing_changed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    key_before = (data_dir / "keys" / "master.key").read_bytes()

    again = runner.invoke(app, ["init", "--data-dir", str(data_dir)])

    assert again.exit_code == 0, again.output
    assert (data_dir / "keys" / "master.key").read_bytes() == key_before
    assert "kept" in again.output
    assert "already current" in again.output


def test_init_refuses_a_key_file_readable_by_others(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    LocalKeyFile.create(data_dir / "keys" / "master.key")
    (data_dir / "keys" / "master.key").chmod(0o644)

    result = runner.invoke(app, ["init", "--data-dir", str(data_dir)])

    assert result.exit_code == 1
    assert "readable by other users" in result.output
    assert "Traceback" not in result.output
    assert not (data_dir / "casevault.db").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_refuses_to_start_without_a_key_file_and_listens_on_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    (data_dir / "keys" / "master.key").unlink()
    port = _free_port()

    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir), "--port", str(port)])

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert result.exit_code == 1
    assert "refusing to start" in result.output
    assert "not found" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_key_file_that_did_not_seal_this_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    runner.invoke(app, ["demo", "--data-dir", str(data_dir), "--no-serve", "--cases", "1", "--customers", "1"])
    key_file = data_dir / "keys" / "master.key"
    key_file.unlink()
    LocalKeyFile.create(key_file)  # valid, but not the key the customers' data keys are wrapped with
    port = _free_port()

    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir), "--port", str(port)])

    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert result.exit_code == 1
    assert "is not the key this database was sealed with" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    LocalKeyFile.create(data_dir / "keys" / "master.key")

    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir), "--port", "1"])

    assert result.exit_code == 1
    assert "refusing to start" in result.output
    assert "casevault init" in result.output


def test_serve_rejects_a_bad_port_as_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), "--port", "70000"])

    assert result.exit_code == 2


def test_demo_seeds_once_and_prints_working_tokens(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    args = ["demo", "--data-dir", str(data_dir), "--no-serve", "--cases", "12", "--customers", "16"]

    first = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    assert "seeded 16 customers" in first.output
    assert "12 cases" in first.output
    assert "http://localhost:8000" in first.output
    assert "with password demo-" in first.output
    tokens = {
        line.split()[0]: line.split()[1]
        for line in first.output.splitlines()
        if line.strip().count("cvt_") == 1 and line.startswith("  ")
    }
    assert {"alice", "maria", "sofia", "admin"} <= tokens.keys()
    db = Database(f"sqlite:///{data_dir / 'casevault.db'}")
    with db.unit_of_work() as session:
        actor = authenticate_token(session, tokens["alice"])
        assert actor is not None
        assert actor.username == "alice"
        assert "case:read" in actor.scopes
        assert session.scalar(select(func.count()).select_from(Case)) == 12

    second = runner.invoke(app, args)

    assert second.exit_code == 0, second.output
    assert "seeded" not in second.output
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 16
        token_events = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "token.created")
        )
        assert token_events == 2 * len(tokens)
    db.dispose()


@pytest.mark.parametrize("command", ["init", "serve", "demo", "staff", "token", "drill"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])

    assert result.exit_code == 0
    assert "Usage" in result.output
