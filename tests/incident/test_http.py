"""The security-officer API under /api/v1/incidents, over the real ASGI app (router mounted by the test)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from incident_world import World, officer_session, token_for
from sqlalchemy import select

from casevault.app import API_PREFIX, create_app
from casevault.audit import AuditEvent
from casevault.config import Settings
from casevault.crypto import LocalKeyFile
from casevault.db import Database
from casevault.identity.models import Staff, StaffStatus


@pytest.fixture
def client(settings: Settings, db: Database, key_provider: LocalKeyFile) -> Iterator[TestClient]:
    app = create_app(settings, database=db, key_provider=key_provider)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_blast_radius_for_a_security_officer(world: World, db: Database, client: TestClient) -> None:
    headers = token_for(db, "sofia", ["incident:manage"])
    response = client.post(
        f"{API_PREFIX}/incidents/blast-radius", json={"actor": "mallory", "model": "screen"}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customers_affected"] == 6
    assert body["customers_revealed"] == 2
    assert body["chain"]["ok"] is True
    assert [row["key"] for row in body["by_exposure"]] == ["revealed", "opened", "listed"]
    first = body["customers"][0]
    assert first["revealed"] is True
    assert "example" not in response.text  # no contact details in a report


BAD_INPUT = [
    ({"actor": "nobody"}, 404, "unknown staff account"),
    ({"actor": "mallory", "sessions": ["session:ffffffffffffffff"]}, 404, "unknown session for this account"),
    ({"actor": "mallory", "model": "session"}, 422, "the session model needs at least one session"),
    ({"actor": "mallory", "since": "2026-01-01T00:00:00"}, 422, "since must include a time zone"),
    ({"actor": "mallory", "model": "galaxy"}, 422, "validation failed"),
]


def test_bad_input(world: World, db: Database, client: TestClient) -> None:
    headers = token_for(db, "sofia", ["incident:manage"])
    for payload, status, message in BAD_INPUT:
        response = client.post(f"{API_PREFIX}/incidents/blast-radius", json=payload, headers=headers)
        assert response.status_code == status, payload
        assert response.json()["error"]["message"] == message, payload
    unknown = client.get(f"{API_PREFIX}/incidents/7d1f3a52-8a3c-4a57-9d0e-2c7e0f0a9b11", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "unknown incident"
    # Agents cannot run it.
    agent = token_for(db, "bob", ["case:read"])
    assert (
        client.post(f"{API_PREFIX}/incidents/blast-radius", json={"actor": "mallory"}, headers=agent).status_code == 403
    )


def test_record_show_verify_contain_and_export(world: World, db: Database, client: TestClient) -> None:
    token = token_for(db, "sofia", ["incident:manage"])
    created = client.post(
        f"{API_PREFIX}/incidents", json={"actor": "mallory", "reason": "customer phishing reports"}, headers=token
    )
    assert created.status_code == 201, created.text
    incident = created.json()
    assert (incident["account"], incident["model"], incident["customers_affected"]) == ("mallory", "account", 4)
    shown = client.get(f"{API_PREFIX}/incidents/{incident['id']}", headers=token)
    assert shown.json()["report_digest"] == incident["report_digest"]
    verified = client.post(f"{API_PREFIX}/incidents/{incident['id']}/verify", headers=token)
    assert verified.json()["ok"] is True

    # Tokens cannot export contacts; neither can a session without a fresh second factor.
    export_url = f"{API_PREFIX}/incidents/{incident['id']}/notifications"
    assert client.post(export_url, json={"format": "csv"}, headers=token).status_code == 403
    csrf = officer_session(db, client, stepped_up=False)
    stale = client.post(export_url, json={"format": "csv"}, headers=csrf)
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "step_up_required"
    csrf = officer_session(db, client, stepped_up=True)
    export = client.post(export_url, json={"format": "csv"}, headers=csrf)
    assert export.status_code == 200, export.text
    assert export.headers["cache-control"] == "no-store"
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {row["customer_reference"] for row in rows} == {world.references[k] for k in ("c1", "c2", "c3", "c6")}
    assert {row["contact_email"] for row in rows} == {
        "ada.c1@example.com",
        "ben.c2@example.org",
        "cai.c3@example.net",
        "fay.c6@example.com",
    }
    client.cookies.clear()

    contained = client.post(
        f"{API_PREFIX}/incidents/contain", json={"actor": "mallory", "reason": "stolen session"}, headers=token
    )
    assert contained.status_code == 201, contained.text
    assert contained.json()["tokens_revoked"] == 1
    with db.unit_of_work() as session:
        mallory = session.get(Staff, world.mallory)
        assert mallory is not None
        assert mallory.status is StaffStatus.SUSPENDED
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"incident.recorded", "export.created", "staff.suspended", "mfa.reset"} <= actions

    # Both are listed, newest first: the containment, then the report.
    listed = client.get(f"{API_PREFIX}/incidents", headers=token)
    assert listed.status_code == 200, listed.text
    assert [(row["id"], row["kind"]) for row in listed.json()] == [
        (contained.json()["incident_id"], "containment"),
        (incident["id"], "report"),
    ]
    assert client.get(f"{API_PREFIX}/incidents?limit=1&offset=1", headers=token).json()[0]["id"] == incident["id"]
    assert client.get(f"{API_PREFIX}/incidents?limit=0", headers=token).status_code == 422
    assert client.get(f"{API_PREFIX}/incidents", headers=token_for(db, "bob", ["case:read"])).status_code == 403
