"""`casevault incident …` through typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest
import typer
from incident_world import World, tamper_with
from sqlalchemy import select
from typer.testing import CliRunner

from casevault.audit import AuditEvent
from casevault.cli.incident import register
from casevault.db import Database
from casevault.identity.models import Staff, StaffStatus

runner = CliRunner()


def _app() -> typer.Typer:
    # The lead wires casevault.cli.incident into the root app; here it is mounted on its own root.
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """casevault (test root)."""

    register(app)
    return app


@pytest.fixture
def target(tmp_path: Path, database_url: str) -> list[str]:
    return ["--data-dir", str(tmp_path), "--database-url", database_url]


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(_app(), ["incident", *args])
    return result.exit_code, result.stdout, result.stderr


def test_blast_radius_json_csv_and_table(world: World, target: list[str]) -> None:
    code, out, err = _run("blast-radius", "--actor", "mallory", "--model", "screen", "--format", "json", *target)
    assert code == 0, err
    report = json.loads(out)
    assert report["customers_affected"] == 6
    assert report["chain"]["ok"] is True
    assert {c["reference"] for c in report["customers"]} == set(world.references.values())

    code, out, err = _run(
        "blast-radius", "--actor", "mallory", "--session", world.ref_one, "--model", "session", "--format", "csv",
        "--no-verify", *target,
    )  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["customer_reference"]: row["exposure"] for row in rows} == {
        world.references["c1"]: "revealed",
        world.references["c2"]: "opened",
    }
    c1 = next(row for row in rows if row["exposure"] == "revealed")
    assert c1["fields_revealed"] == "email:EMAIL_ADDRESS"

    code, out, err = _run("blast-radius", "--actor", "mallory", *target)
    assert code == 0, err
    assert "4 customers exposed (2 revealed, 2 opened, 0 listed)" in out
    assert world.references["c1"] in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--actor", "nobody"], "unknown staff account"),
        (["--actor", "mallory", "--session", "session:ffffffffffffffff"], "unknown session for this account"),
        (["--actor", "mallory", "--since", "yesterday"], "not an ISO 8601 time"),
        (["--actor", "mallory", "--format", "xml"], "--format must be table, json or csv"),
        (["--actor", "mallory", "--model", "session"], "the session model needs at least one session"),
        (["--actor", "mallory", "--record"], "--record needs --reason"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    lite_world: World, tmp_path: Path, sqlite_database: str, args: list[str], message: str
) -> None:
    code, out, err = _run("blast-radius", *args, "--data-dir", str(tmp_path), "--database-url", sqlite_database)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_empty_window(lite_world: World, tmp_path: Path, sqlite_database: str) -> None:
    code, out, err = _run(
        "blast-radius", "--actor", "mallory", "--since", "2001-01-01", "--until", "2001-01-02", "--format", "json",
        "--data-dir", str(tmp_path), "--database-url", sqlite_database,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["customers"] == []


def test_broken_chain_warns_prominently(
    lite_world: World, lite_db: Database, tmp_path: Path, sqlite_database: str
) -> None:
    tamper_with(lite_db)("UPDATE audit_events SET reason = 'x' WHERE seq = %s", lite_world.seqs["e3"])
    code, out, err = _run(
        "blast-radius", "--actor", "mallory", "--data-dir", str(tmp_path), "--database-url", sqlite_database
    )
    assert code == 0
    assert "AUDIT CHAIN BROKEN" in err
    assert "WARNING: AUDIT CHAIN BROKEN" in out


def test_record_verify_export_contain(world: World, db: Database, target: list[str], tmp_path: Path) -> None:
    code, _out, err = _run(
        "blast-radius", "--actor", "mallory", "--format", "json", "--record", "--reason", "phishing", *target
    )
    assert code == 0, err
    incident_id = err.split("recorded incident ", 1)[1].split()[0]

    code, out, err = _run("verify", incident_id, *target)
    assert code == 0, err
    assert "incident verified" in out

    export = tmp_path / "notify.csv"
    code, out, err = _run("notify-export", incident_id, "--output", str(export), *target)
    assert code == 0, err
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(export.read_text(encoding="utf-8"))))
    assert len(rows) == 4
    assert "ada.c1@example.com" in {row["contact_email"] for row in rows}
    assert "example" not in out + err  # contacts go to the file only
    code, _out, err = _run("notify-export", incident_id, "--output", str(export), *target)
    assert code == 2
    assert "exists" in err

    code, out, err = _run("contain", "--actor", "mallory", "--reason", "stolen session", *target)
    assert code == 0, err
    assert "2 session(s) and 1 API token(s) revoked" in out
    with db.unit_of_work() as session:
        mallory = session.get(Staff, world.mallory)
        assert mallory is not None
        assert mallory.status is StaffStatus.SUSPENDED
        labels = set(session.scalars(select(AuditEvent.actor_label).where(AuditEvent.action == "export.created")))
    assert len(labels) == 1
    assert next(iter(labels)).startswith("cli:")


def test_unknown_incident(lite_world: World, tmp_path: Path, sqlite_database: str) -> None:
    code, _out, err = _run(
        "verify", "00000000-0000-0000-0000-000000000000", "--data-dir", str(tmp_path), "--database-url", sqlite_database
    )
    assert code == 2
    assert "unknown incident" in err


def test_verify_fails_after_tampering(
    lite_world: World, lite_db: Database, tmp_path: Path, sqlite_database: str
) -> None:
    target = ["--data-dir", str(tmp_path), "--database-url", sqlite_database]
    code, _out, err = _run("blast-radius", "--actor", "mallory", "--record", "--reason", "phishing", *target)
    assert code == 0, err
    incident_id = err.split("recorded incident ", 1)[1].split()[0]
    tamper_with(lite_db)("UPDATE audit_subjects SET exposure = 'listed' WHERE event_seq = %s", lite_world.seqs["e3"])
    code, out, err = _run("verify", incident_id, *target)
    assert code == 1
    assert "digest DIFFERS" in out
    assert "AUDIT CHAIN BROKEN" in err
    code, _out, err = _run("notify-export", incident_id, "--output", "-", *target)
    assert code == 1
    assert "no longer matches the audit trail" in err
