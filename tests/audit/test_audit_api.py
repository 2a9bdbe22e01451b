"""The security officer's audit API over HTTP, with staff API tokens; reading the trail is audited too."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from casevault.access.roles import Role
from casevault.app import create_app
from casevault.audit import AuditEvent
from casevault.config import Settings
from casevault.crypto import LocalKeyFile
from casevault.db import Database
from casevault.identity import Staff, issue_token


def _token(db: Database, role: Role, scopes: list[str]) -> tuple[uuid.UUID, str]:
    with db.unit_of_work() as session:
        staff = Staff(username=f"{role.value}-{uuid.uuid4().hex[:6]}", display_name="Test Person", role=role)
        session.add(staff)
        session.flush()
        _row, secret = issue_token(session, staff, name="tests", scopes=scopes, ttl=timedelta(hours=1))
        return staff.id, secret


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_officer_lists_filters_and_pages_events(
    client: TestClient, db: Database, seed_chain: Callable[..., Any]
) -> None:
    customers = seed_chain(db, 6)
    officer_id, secret = _token(db, Role.SECURITY_OFFICER, ["audit:read"])

    first = client.get("/api/v1/audit/events", params={"limit": 4}, headers=_auth(secret))
    assert first.status_code == 200, first.text
    body = first.json()
    assert [event["seq"] for event in body["events"]] == [6, 5, 4, 3]
    assert body["events"][0]["subjects"][0]["customer_id"] == str(customers[5])
    assert len(body["events"][0]["hash"]) == 64
    second = client.get(
        "/api/v1/audit/events", params={"limit": 4, "cursor": body["next_cursor"]}, headers=_auth(secret)
    ).json()
    # The first read was audited (seq 7) but the cursor continues below seq 3.
    assert [event["seq"] for event in second["events"]] == [2, 1]
    assert second["next_cursor"] is None

    # Customer 0 was opened in event 1 and listed in event 2.
    by_customer = client.get(
        "/api/v1/audit/events", params={"customer_id": str(customers[0])}, headers=_auth(secret)
    ).json()
    assert [event["seq"] for event in by_customer["events"]] == [2, 1]

    reads = client.get(
        "/api/v1/audit/events", params={"action": "audit.queried", "actor": str(officer_id)}, headers=_auth(secret)
    ).json()
    assert [event["seq"] for event in reads["events"]] == [9, 8, 7]
    assert reads["events"][-1]["detail"]["returned"] == 4
    assert reads["events"][-1]["session_ref"].startswith("token:")

    window = {"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "actor": "seeder"}
    recent = client.get("/api/v1/audit/events", params=window, headers=_auth(secret)).json()
    assert len(recent["events"]) == 6
    future = {"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    assert client.get("/api/v1/audit/events", params=future, headers=_auth(secret)).json()["events"] == []


def test_bad_input_is_a_422_with_field_names(
    sqlite_database: str, settings: Settings, key_provider: LocalKeyFile
) -> None:
    # Input validation does not depend on the database: SQLite only.
    db = Database(sqlite_database)
    client = TestClient(create_app(settings, database=db, key_provider=key_provider))
    _officer, secret = _token(db, Role.SECURITY_OFFICER, ["audit:read"])
    bad_action = client.get("/api/v1/audit/events", params={"action": "case.exploded"}, headers=_auth(secret))
    assert bad_action.status_code == 422
    assert any(field["field"].endswith("action") for field in bad_action.json()["error"]["fields"])
    bad_cursor = client.get("/api/v1/audit/events", params={"cursor": "not-a-cursor"}, headers=_auth(secret))
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["message"] == "cursor is not valid"


def test_agents_and_unscoped_tokens_are_refused_and_that_is_audited(client: TestClient, db: Database) -> None:
    _agent, agent_secret = _token(db, Role.AGENT, ["*"])
    _officer, unscoped = _token(db, Role.SECURITY_OFFICER, ["alert:read"])
    assert client.get("/api/v1/audit/events").status_code == 401
    assert client.get("/api/v1/audit/events", headers=_auth(agent_secret)).status_code == 403
    assert client.get("/api/v1/audit/verify", headers=_auth(unscoped)).status_code == 403
    with db.sessions() as session:
        denied = session.scalars(select(AuditEvent.action).where(AuditEvent.outcome == "denied")).all()
    assert denied == ["access.denied", "access.denied"]


def test_verify_endpoint_reports_and_is_audited(
    client: TestClient, db: Database, seed_chain: Callable[..., Any], attacker: Any
) -> None:
    seed_chain(db, 5)
    _officer, secret = _token(db, Role.SECURITY_OFFICER, ["audit:read"])
    good = client.get("/api/v1/audit/verify", headers=_auth(secret))
    assert good.status_code == 200
    assert good.json()["ok"] is True
    assert good.json()["events_checked"] == 5
    with attacker(db) as sql:
        sql("UPDATE audit_events SET action = 'case.listed' WHERE seq = 2")
    bad = client.get("/api/v1/audit/verify", headers=_auth(secret)).json()
    assert (bad["ok"], bad["problem"], bad["first_bad_seq"]) == (False, "edited", 2)
    with db.sessions() as session:
        verified = session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.verified")).all()
    assert [event.detail["ok"] for event in verified] == [True, False]
