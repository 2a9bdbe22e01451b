"""The stolen-session drill: attacks a copy of a demo, counts customers from the audit trail, leaves the original."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from casevault.audit.models import AuditEvent, AuditSubject
from casevault.cli import app
from casevault.config import ReadBudgetLimits, Settings
from casevault.db.session import Database
from casevault.detection.models import Alert
from casevault.drills.stolen_session import TARGET_MAX_CUSTOMERS, run_stolen_session_drill
from casevault.identity.models import Staff, StaffStatus

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("stolen") / "demo"
    args = ["demo", "--no-serve", "--cases", "40", "--customers", "30", "--data-dir", str(data_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return data_dir


def _audit_state(data_dir: Path, username: str) -> tuple[str, int, dict[str, set[str]], int]:
    """The agent's status, the event count, customers per exposure charged to the agent, alerts on the agent."""
    db = Database(f"sqlite:///{data_dir / 'casevault.db'}")
    try:
        with db.sessions() as session:
            staff = session.scalars(sa.select(Staff).where(Staff.username == username)).one()
            events = int(session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0)
            rows = session.execute(
                sa.select(AuditSubject.exposure, AuditSubject.customer_id)
                .join(AuditEvent, AuditEvent.seq == AuditSubject.event_seq)
                .where(AuditEvent.actor_id == staff.id, AuditEvent.outcome == "allowed")
            ).all()
            alerts = int(
                session.scalar(sa.select(sa.func.count()).select_from(Alert).where(Alert.subject_staff_id == staff.id))
                or 0
            )
            by_exposure: dict[str, set[str]] = {}
            for exposure, customer_id in rows:
                if customer_id is not None:
                    by_exposure.setdefault(exposure, set()).add(str(customer_id))
            return str(staff.status), events, by_exposure, alerts
    finally:
        db.dispose()


def test_drill_on_demo_reports_what_the_audit_trail_shows_and_leaves_the_demo_alone(
    demo_dir: Path, tmp_path: Path
) -> None:
    before = _audit_state(demo_dir, "alice")
    kept = tmp_path / "copy"
    result = runner.invoke(
        app,
        [
            "drill",
            "stolen-session",
            "--data-dir",
            str(demo_dir),
            "--agent",
            "alice",
            "--keep-copy",
            str(kept),
            "--format",
            "json",
        ],
    )
    report = json.loads(result.stdout)
    assert result.exit_code == (0 if report["target_met"] else 1), result.output
    assert report["agent"] == "alice"
    assert report["requests"]["list"] >= 1
    assert report["requests"]["open"] >= 1

    # The original demo is untouched: same audit trail, agent still active.
    assert _audit_state(demo_dir, "alice") == before
    assert before[0] == str(StaffStatus.ACTIVE)

    # The figures match the kept copy's audit trail, counted here independently.
    _, _, exposures, alerts = _audit_state(kept, "alice")
    revealed = exposures.get("revealed", set())
    opened = exposures.get("opened", set()) - revealed
    listed = exposures.get("listed", set()) - revealed - opened
    customers = report["customers"]
    assert customers["revealed"] == len(revealed)
    assert customers["opened_masked"] == len(opened)
    assert customers["listed_only"] == len(listed)
    assert customers["total"] == len(revealed | opened | listed) > 0
    assert customers["obtained"] == len(revealed | opened)
    assert report["alerted"] == (alerts > 0)
    # The sign-in's own factor is not a step-up: a thief without the device unmasks nothing, and is asked.
    assert report["reveals_succeeded"] == 0
    assert revealed == set()
    assert report["step_ups_refused"] >= report["requests"]["reveal"] > 0
    # Bulk endpoints never hand an agent data.
    for path in ("/customers", "/customers/export", "/cases/export", "/audit/events", "/organizations"):
        assert report["probes"][path] >= 400, path
    assert customers["obtained"] <= TARGET_MAX_CUSTOMERS
    assert report["target_met"] is True
    assert result.exit_code == 0


def test_read_budget_contains_the_stolen_session(demo_dir: Path, tmp_path: Path) -> None:
    # Tight limits so the small demo reaches the hard limit; the default budgets are exercised above.
    limits = ReadBudgetLimits(opened_soft_hour=1, opened_hard_hour=2)
    settings = Settings(data_dir=demo_dir, read_budgets={"agent": limits})
    kept = tmp_path / "copy"
    report = run_stolen_session_drill(settings, agent="alice", keep_copy=kept)

    assert report.revoked
    # Every 401 but the last asked for a step-up; the last one is the revoked session.
    assert report.statuses.get("401", 0) == report.step_ups_refused + 1
    assert report.alerted
    assert any(alert["kind"] == "budget.exceeded" for alert in report.alerts)
    status, _, exposures, alerts = _audit_state(kept, "alice")
    assert status == str(StaffStatus.SUSPENDED)
    assert alerts == len(report.alerts)
    opened_or_revealed = exposures.get("opened", set()) | exposures.get("revealed", set())
    # Containment stops the session within one read of the hard limit.
    assert len(opened_or_revealed) <= limits.opened_hard_hour + 1
    assert report.customers_obtained == len(opened_or_revealed)
    assert report.customers_total == len(opened_or_revealed | exposures.get("listed", set()))
    assert _audit_state(demo_dir, "alice")[0] == str(StaffStatus.ACTIVE)


def test_missing_data_dir_and_unknown_agent_are_clear_errors(demo_dir: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["drill", "stolen-session", "--data-dir", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "Traceback" not in missing.output
    unknown = runner.invoke(app, ["drill", "stolen-session", "--data-dir", str(demo_dir), "--agent", "mallory"])
    assert unknown.exit_code == 1
    assert "no active agent named mallory" in unknown.output
