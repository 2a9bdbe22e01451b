"""`--self`: casevault's own settings (debug, secrets, key files, database auth, TLS)."""

from __future__ import annotations

import secrets
from pathlib import Path

from typer.testing import CliRunner

from casevault.cli import app
from casevault.exposure import self_check

STRONG = secrets.token_urlsafe(48)


def _ids(findings: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(f.check_id for f in findings)


def test_weak_settings_are_reported_without_echoing_secrets(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "master.key").write_bytes(b"k" * 32)
    (keys / "master.key").chmod(0o644)
    findings = self_check(
        env={"CASEVAULT_DEBUG": "1", "CASEVAULT_SECRET": "changeme", "CASEVAULT_HOST": "0.0.0.0"},  # noqa: S104 - an address in test data, nothing binds to it
        data_dir=tmp_path,
        database_url="postgresql://postgres@127.0.0.1:5432/postgres",
    )
    assert _ids(findings) == ["CV-SELF-001", "CV-SELF-002", "CV-SELF-003", "CV-SELF-004", "CV-SELF-005", "CV-SELF-006"]
    text = " ".join(str(f.to_dict()) for f in findings)
    assert "changeme" not in text
    assert "0644" in text


def test_strong_settings_are_quiet(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "master.key").write_bytes(b"k" * 32)
    (keys / "master.key").chmod(0o600)
    findings = self_check(
        env={"CASEVAULT_SECRET": STRONG, "CASEVAULT_HOST": "127.0.0.1"},
        data_dir=tmp_path,
        database_url=f"postgresql://app:{STRONG}@db.internal:5432/casevault",
    )
    assert findings == []


def test_password_in_database_url_never_appears(tmp_path: Path) -> None:
    findings = self_check(env={"CASEVAULT_SECRET": "x" * 40}, database_url="postgresql://app:pw-not-shown@127.0.0.1/db")
    assert _ids(findings) == ["CV-SELF-002"]  # repetitive secret; the URL with a password is fine
    assert "pw-not-shown" not in str([f.to_dict() for f in findings])


def test_cli_self_reads_environment(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["scan", "--self", "--format", "json", "--data-dir", str(tmp_path)],
        env={"CASEVAULT_SECRET": "short", "CASEVAULT_DEBUG": "true"},
    )
    assert result.exit_code == 1
    assert "short" not in result.stdout.replace("shorter", "")
    assert {"CV-SELF-001", "CV-SELF-002"} <= {
        f["check_id"] for f in __import__("json").loads(result.stdout)["findings"]
    }
