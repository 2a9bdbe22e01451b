"""`casevault audit verify | checkpoint | public-key` through the real typer app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from casevault.audit import AuditCheckpoint, AuditEvent
from casevault.cli import app
from casevault.crypto import LocalKeyFile
from casevault.db import Database

runner = CliRunner()


def _options(db: Database, data_dir: Path) -> list[str]:
    return ["--data-dir", str(data_dir), "--database-url", db.engine.url.render_as_string(hide_password=False)]


def test_verify_checkpoint_and_tamper(
    db: Database,
    key_provider: LocalKeyFile,
    tmp_path: Path,
    seed_chain: Callable[..., Any],
    attacker: Any,
) -> None:
    seed_chain(db, 5)
    options = _options(db, tmp_path)

    intact = runner.invoke(app, ["audit", "verify", *options])
    assert intact.exit_code == 0, intact.output
    assert "audit chain intact" in intact.output
    assert "no signed checkpoint yet" in intact.output

    signed = runner.invoke(app, ["audit", "checkpoint", *options])
    assert signed.exit_code == 0, signed.output
    assert "checkpoint signed at seq 6" in signed.output  # the first verify run was recorded as seq 6
    with db.sessions() as session:
        checkpoint = session.scalars(select(AuditCheckpoint)).one()
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.seq > 5)).all()
    assert checkpoint.seq == 6
    assert actions == ["audit.verified", "audit.checkpointed"]

    with attacker(db) as sql:
        sql("DELETE FROM audit_events WHERE seq >= 6")
    tampered = runner.invoke(app, ["audit", "verify", "--json", *options])
    assert tampered.exit_code == 1
    assert '"problem": "truncated"' in tampered.output
    assert '"first_bad_seq": 6' in tampered.output


def test_auditor_verifies_with_the_public_key_only(
    db: Database, key_provider: LocalKeyFile, tmp_path: Path, seed_chain: Callable[..., Any]
) -> None:
    seed_chain(db, 3)
    options = _options(db, tmp_path)
    assert runner.invoke(app, ["audit", "checkpoint", *options]).exit_code == 0
    published = runner.invoke(app, ["audit", "public-key", "--data-dir", str(tmp_path)])
    assert published.exit_code == 0
    pem = tmp_path / "audit.pub"
    pem.write_text(published.stdout)
    elsewhere = tmp_path / "auditor"  # no key file here
    result = runner.invoke(app, ["audit", "verify", "--public-key", str(pem), *_options(db, elsewhere)])
    assert result.exit_code == 0, result.output

    other = tmp_path / "other"
    LocalKeyFile.create(other / "keys" / "master.key")
    wrong_key = runner.invoke(app, ["audit", "verify", *_options(db, other)])
    assert wrong_key.exit_code == 1
    assert "bad_checkpoint_signature" in wrong_key.output


def test_bad_input_exits_cleanly(sqlite_database: str, key_provider: LocalKeyFile, tmp_path: Path) -> None:
    db = Database(sqlite_database)
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    result = runner.invoke(app, ["audit", "verify", "--public-key", str(not_a_key), *_options(db, tmp_path)])
    assert result.exit_code == 2
    assert "not a PEM public key" in result.output
    missing = runner.invoke(app, ["audit", "verify", "--public-key", str(tmp_path / "absent.pem")])
    assert missing.exit_code == 2
    no_keys = runner.invoke(app, ["audit", "checkpoint", *_options(db, tmp_path / "empty")])
    assert no_keys.exit_code == 1
    assert "not found" in no_keys.output
    assert "Traceback" not in no_keys.output
    for command in ("verify", "checkpoint", "public-key"):
        assert runner.invoke(app, ["audit", command, "--help"]).exit_code == 0
