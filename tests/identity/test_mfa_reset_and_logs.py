"""Two-admin MFA reset (audited, alerted, sessions revoked) and a scan of every log line for secrets."""

from __future__ import annotations

import logging
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from casevault.access.roles import Role
from casevault.audit.models import AuditEvent
from casevault.db import Database
from casevault.detection import Alert
from casevault.identity import FixedClock

from .conftest import PASSWORD, Browser, MakeStaff, csrf, sign_in_with_totp, step_up_with_totp, totp_now


@pytest.mark.postgres
def test_mfa_reset_needs_a_second_admin_and_raises_an_alert(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database
) -> None:
    first_admin = make_staff("root-a", Role.ADMIN, totp=True)
    second_admin = make_staff("root-b", Role.ADMIN, totp=True)
    agent = make_staff("vic", totp=True)
    agent_browser = browser()
    sign_in_with_totp(agent_browser, agent, clock)

    a, b = browser(), browser()
    token_a = step_up_with_totp(a, first_admin, clock, sign_in_with_totp(a, first_admin, clock))
    token_b = step_up_with_totp(b, second_admin, clock, sign_in_with_totp(b, second_admin, clock))

    created = a.post(
        "/api/v1/auth/mfa-resets", json={"username": "vic", "reason": "lost phone, ticket 4411"}, headers=csrf(token_a)
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    # The requester cannot approve their own request.
    own = a.post(f"/api/v1/auth/mfa-resets/{request_id}/approve", headers=csrf(token_a))
    assert own.status_code == 422
    assert agent_browser.get("/api/v1/auth/session").status_code == 200

    approved = b.post(f"/api/v1/auth/mfa-resets/{request_id}/approve", headers=csrf(token_b))
    assert approved.status_code == 200, approved.text
    assert approved.json() == {"username": "vic", "reset": True}
    assert agent_browser.get("/api/v1/auth/session").status_code == 401
    assert b.post(f"/api/v1/auth/mfa-resets/{request_id}/approve", headers=csrf(token_b)).status_code == 404

    fresh = browser()
    login = fresh.post("/api/v1/auth/login", json={"username": "vic", "password": PASSWORD})
    assert login.json()["enrolment_required"] is True

    with db.sessions() as session:
        [alert] = session.scalars(select(Alert)).all()
        assert (alert.kind, alert.severity, alert.subject_staff_id) == ("mfa.reset", "high", agent.id)
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"mfa.reset_requested", "mfa.reset_approved", "mfa.reset", "alert.raised"} <= actions


def test_agents_cannot_request_resets(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    agent = make_staff("wes", totp=True)
    make_staff("xan", totp=True)
    client = browser()
    token = sign_in_with_totp(client, agent, clock)
    response = client.post(
        "/api/v1/auth/mfa-resets", json={"username": "xan", "reason": "because"}, headers=csrf(token)
    )
    assert response.status_code == 403


def test_reset_request_needs_step_up(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    admin = make_staff("yul", Role.ADMIN, totp=True)
    make_staff("zed", totp=True)
    client = browser()
    token = sign_in_with_totp(client, admin, clock)
    clock.advance(timedelta(minutes=10))
    response = client.post(
        "/api/v1/auth/mfa-resets", json={"username": "zed", "reason": "because"}, headers=csrf(token)
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "step_up_required"


def test_no_secret_code_password_or_cookie_in_logs_or_audit(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    make_staff("amy")
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "amy", "password": PASSWORD})
    enrol = client.post("/api/v1/auth/mfa/totp/enrol", headers=csrf(login)).json()
    code = pyotp.TOTP(enrol["secret"]).at(clock.now())
    done = client.post("/api/v1/auth/mfa/totp", json={"code": code}, headers=csrf(login)).json()
    token = done["csrf_token"]
    client.post("/api/v1/auth/login", json={"username": "amy", "password": "wrong-but-secret-99"})
    recovered = client.post("/api/v1/auth/recovery", json={"code": done["recovery_codes"][1]}, headers=csrf(token))
    token = recovered.json()["csrf_token"]
    clock.advance(timedelta(seconds=30))
    step = client.post(
        "/api/v1/auth/step-up", json={"code": pyotp.TOTP(enrol["secret"]).at(clock.now())}, headers=csrf(token)
    )
    assert step.status_code == 200
    cookie = client.cookies.get("casevault_session")
    assert cookie

    secrets = [PASSWORD, "wrong-but-secret-99", enrol["secret"], code, cookie, token, *done["recovery_codes"]]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged  # the access log did run
    with db.sessions() as session:
        audit_text = "\n".join(
            f"{event.reason} {event.detail} {event.target_id} {event.actor_label}"
            for event in session.scalars(select(AuditEvent))
        )
    for secret in secrets:
        assert secret not in logged
        assert secret not in audit_text


def test_provisioned_credentials_sign_in(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    account = make_staff("bo", totp=True)
    assert account.totp_secret is not None
    assert len(account.totp_secret) == 32
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "bo", "password": PASSWORD})
    assert login.json()["enrolment_required"] is False
    ok = client.post("/api/v1/auth/mfa/totp", json={"code": totp_now(account, clock)}, headers=csrf(login))
    assert ok.status_code == 200
    assert ok.json()["recovery_codes"] is None
