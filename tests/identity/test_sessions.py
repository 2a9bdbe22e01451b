"""Session hardening over HTTP: client binding, idle and absolute expiry, revocation, CSRF, tokens and step-up."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from casevault.access.roles import Role
from casevault.app import create_app
from casevault.audit.models import AuditEvent
from casevault.config import Settings
from casevault.crypto import LocalKeyFile
from casevault.db import Database
from casevault.detection import Alert
from casevault.identity import FixedClock, Staff, StaffStatus, issue_token

from .conftest import PASSWORD, Browser, MakeStaff, csrf, sign_in_with_totp, totp_now


def _reasons(db: Database, action: str) -> list[str | None]:
    with db.sessions() as session:
        return list(session.scalars(select(AuditEvent.reason).where(AuditEvent.action == action)))


@pytest.mark.postgres
def test_cookie_replayed_from_another_network_is_rejected_and_revoked(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database
) -> None:
    staff = make_staff("ana", totp=True)
    victim = browser(ip="203.0.113.9")
    sign_in_with_totp(victim, staff, clock)
    stolen = victim.cookies.get("casevault_session")
    assert stolen

    # Same /24 is the same network: still fine.
    neighbour = browser(ip="203.0.113.77")
    neighbour.cookies.set("casevault_session", stolen)
    assert neighbour.get("/api/v1/auth/sessions").status_code == 200

    attacker = browser(ip="198.51.100.23")
    attacker.cookies.set("casevault_session", stolen)
    assert attacker.get("/api/v1/auth/sessions").status_code == 401
    # The session is dead for its owner too: a stolen cookie forces re-authentication.
    assert victim.get("/api/v1/auth/sessions").status_code == 401
    assert "client changed" in _reasons(db, "session.rejected")
    with db.sessions() as session:
        [alert] = session.scalars(select(Alert)).all()
    assert (alert.kind, alert.severity, alert.subject_staff_id) == ("session.hijack_suspected", "high", staff.id)
    assert alert.detail["seen_prefix"] == "198.51.100.0/24"


def test_cookie_replayed_with_another_user_agent_is_rejected(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock
) -> None:
    staff = make_staff("ben", totp=True)
    victim = browser()
    sign_in_with_totp(victim, staff, clock)
    attacker = browser(user_agent="curl/8.5.0")
    attacker.cookies.set("casevault_session", victim.cookies.get("casevault_session") or "")
    assert attacker.get("/api/v1/auth/sessions").status_code == 401
    assert victim.get("/api/v1/auth/sessions").status_code == 401


def test_idle_timeout_with_injected_clock(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    staff = make_staff("cat", totp=True)
    client = browser()
    sign_in_with_totp(client, staff, clock)
    clock.advance(timedelta(minutes=14))
    assert client.get("/api/v1/auth/sessions").status_code == 200  # activity resets the idle timer
    clock.advance(timedelta(minutes=14, seconds=59))
    assert client.get("/api/v1/auth/sessions").status_code == 200
    clock.advance(timedelta(minutes=15))
    response = client.get("/api/v1/auth/sessions")
    assert response.status_code == 401


def test_absolute_timeout_even_when_active(
    settings: Settings, db: Database, key_provider: LocalKeyFile, make_staff: MakeStaff, clock: FixedClock
) -> None:
    staff = make_staff("dov", totp=True)
    # A one-hour absolute limit keeps the loop short; the rule is the same for the 8 h default.
    short = create_app(
        settings.model_copy(update={"session_absolute_timeout": timedelta(hours=1)}),
        database=db,
        key_provider=key_provider,
    )
    short.state.runtime = dataclasses.replace(short.state.runtime, clock=clock)
    client = TestClient(short, client=("203.0.113.9", 50000), headers={"user-agent": "test"})
    sign_in_with_totp(client, staff, clock)
    for _ in range(4):  # 4 x 14:59 = 59 min 56 s of steady activity, never idle
        clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
        assert client.get("/api/v1/auth/session").status_code == 200
    clock.advance(timedelta(seconds=5))
    assert client.get("/api/v1/auth/session").status_code == 401


def test_revoked_session_dies_at_once(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    staff = make_staff("eli", totp=True)
    laptop = browser()
    token = sign_in_with_totp(laptop, staff, clock)
    clock.advance(timedelta(seconds=30))
    phone = browser()
    sign_in_with_totp(phone, staff, clock)

    listed = laptop.get("/api/v1/auth/sessions").json()["sessions"]
    assert len(listed) == 2
    phone_id = next(item["id"] for item in listed if not item["current"])
    assert laptop.delete(f"/api/v1/auth/sessions/{phone_id}", headers=csrf(token)).status_code == 200
    assert phone.get("/api/v1/auth/sessions").status_code == 401
    assert laptop.get("/api/v1/auth/sessions").status_code == 200

    assert laptop.post("/api/v1/auth/logout", headers=csrf(token)).status_code == 200
    assert laptop.get("/api/v1/auth/session").status_code == 401


def test_someone_elses_session_looks_missing(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    ann, bob = make_staff("fin", totp=True), make_staff("gil", totp=True)
    first, second = browser(), browser()
    token = sign_in_with_totp(first, ann, clock)
    sign_in_with_totp(second, bob, clock)
    [bobs] = second.get("/api/v1/auth/sessions").json()["sessions"]
    assert first.delete(f"/api/v1/auth/sessions/{bobs['id']}", headers=csrf(token)).status_code == 404
    assert second.get("/api/v1/auth/sessions").status_code == 200


def test_csrf_token_required_for_cookie_posts(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database
) -> None:
    staff = make_staff("hop", totp=True)
    client = browser()
    token = sign_in_with_totp(client, staff, clock)
    missing = client.post("/api/v1/auth/logout")
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/auth/logout", headers={"x-csrf-token": token[:-2] + "xx"})
    assert wrong.status_code == 403
    # GET needs none; the session is still alive after the refused POSTs.
    assert client.get("/api/v1/auth/session").status_code == 200
    assert client.post("/api/v1/auth/logout", headers=csrf(token)).status_code == 200
    assert len(_reasons(db, "csrf.rejected")) == 2


def test_password_only_session_needs_csrf_for_the_second_factor_too(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock
) -> None:
    staff = make_staff("ida", totp=True)
    client = browser()
    client.post("/api/v1/auth/login", json={"username": "ida", "password": PASSWORD})
    response = client.post("/api/v1/auth/mfa/totp", json={"code": totp_now(staff, clock)})
    assert response.status_code == 403


@pytest.mark.postgres
def test_bearer_tokens_work_without_csrf_and_cannot_step_up(
    browser: Browser, make_staff: MakeStaff, db: Database, clock: FixedClock
) -> None:
    account = make_staff("jan", Role.ADMIN, totp=True)
    with db.unit_of_work() as session:
        staff = session.get(Staff, account.id)
        assert staff is not None
        _, secret = issue_token(session, staff, name="ci", scopes=["*"], ttl=timedelta(days=1))
    client = browser()
    auth = {"authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/auth/sessions", headers=auth).status_code == 200
    # Unsafe method, no CSRF header, token auth: allowed to reach the route, which then demands step-up.
    denied = client.post("/api/v1/auth/recovery-codes", headers=auth)
    assert denied.status_code == 403
    step = client.post("/api/v1/auth/step-up", headers=auth, json={"code": totp_now(account, clock)})
    assert step.status_code == 403
    assert "tokens cannot step up" in _reasons(db, "step_up.required")


def test_step_up_window(browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database) -> None:
    staff = make_staff("kai", totp=True)
    client = browser()
    token = sign_in_with_totp(client, staff, clock)
    # The sign-in's own second factor is not a step-up: a cookie stolen right after sign-in must not carry one.
    needed = client.post("/api/v1/auth/recovery-codes", headers=csrf(token))
    assert needed.status_code == 401
    assert needed.json()["error"]["code"] == "step_up_required"
    assert needed.json()["error"]["step_up"] is True

    clock.advance(timedelta(seconds=30))
    stepped = client.post("/api/v1/auth/step-up", json={"code": totp_now(staff, clock)}, headers=csrf(token))
    assert stepped.status_code == 200, stepped.text
    token = stepped.json()["csrf_token"]
    # A check made on the session holds for 5 minutes, then a new one is needed.
    assert client.post("/api/v1/auth/recovery-codes", headers=csrf(token)).status_code == 200
    clock.advance(timedelta(minutes=5, seconds=1))
    assert client.post("/api/v1/auth/recovery-codes", headers=csrf(token)).status_code == 401
    assert _reasons(db, "step_up.succeeded") == [None]


def test_password_change_revokes_every_session(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    staff = make_staff("lev", totp=True)
    first, second = browser(), browser()
    token = sign_in_with_totp(first, staff, clock)
    clock.advance(timedelta(seconds=30))
    sign_in_with_totp(second, staff, clock)
    weak = first.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "password123456"},
        headers=csrf(token),
    )
    assert weak.status_code == 422
    assert "common" in weak.json()["error"]["message"]
    changed = first.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "quartz-meadow-hinge-77"},
        headers=csrf(token),
    )
    assert changed.status_code == 200
    assert changed.json() == {"sessions_revoked": 2}
    assert first.get("/api/v1/auth/session").status_code == 401
    assert second.get("/api/v1/auth/session").status_code == 401
    clock.advance(timedelta(seconds=30))
    assert sign_in_with_totp(browser(), staff, clock, password="quartz-meadow-hinge-77")


def test_suspension_ends_live_sessions(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database
) -> None:
    account = make_staff("mia", totp=True)
    client = browser()
    sign_in_with_totp(client, account, clock)
    with db.unit_of_work() as session:
        staff = session.get(Staff, account.id)
        assert staff is not None
        staff.status = StaffStatus.SUSPENDED
    assert client.get("/api/v1/auth/session").status_code == 401
    assert "staff suspended" in _reasons(db, "session.rejected")


def test_secure_cookie_outside_plain_http_demo(
    settings: Settings, db: Database, key_provider: LocalKeyFile, make_staff: MakeStaff
) -> None:
    make_staff("ned")
    secure_app = create_app(settings.model_copy(update={"cookie_secure": True}), database=db, key_provider=key_provider)
    client = TestClient(secure_app, base_url="https://testserver", client=("203.0.113.9", 50000))
    response = client.post("/api/v1/auth/login", json={"username": "ned", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-casevault_session=")
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag.lower() in cookie.lower()
    assert "max-age" not in cookie.lower()
    assert client.get("/api/v1/auth/session").status_code == 200
