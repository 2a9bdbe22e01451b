"""Password + TOTP sign-in over HTTP: enrolment at first sign-in, replay, password-only sessions, recovery codes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from casevault.api.deps import declared_permission
from casevault.audit.models import AuditEvent
from casevault.db import Database
from casevault.identity import FixedClock, StaffSession

from .conftest import PASSWORD, Browser, MakeStaff, csrf, sign_in_with_totp, totp_now


def _api_routes(router: APIRouter, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every API route with its full prefix (FastAPI nests included routers rather than copying them)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield prefix, route
        nested = getattr(route, "original_router", None)
        if isinstance(nested, APIRouter):
            context = getattr(route, "include_context", None)
            yield from _api_routes(nested, prefix + str(getattr(context, "prefix", "") or ""))


def _actions(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


@pytest.mark.postgres
def test_first_sign_in_enrols_totp_then_reaches_protected_routes(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database
) -> None:
    make_staff("ada")
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert login.status_code == 200
    body = login.json()
    assert body["mfa_complete"] is False
    assert body["enrolment_required"] is True
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie

    # A password-only session is not signed in.
    assert client.get("/api/v1/auth/sessions").json()["error"]["code"] == "mfa_required"

    enrol = client.post("/api/v1/auth/mfa/totp/enrol", headers=csrf(login))
    assert enrol.status_code == 200, enrol.text
    secret = enrol.json()["secret"]
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/casevault:ada?secret=")
    assert enrol.json()["qr_svg"].startswith("data:image/svg+xml;base64,")

    old_cookie = client.cookies.get("casevault_session")
    verify = client.post(
        "/api/v1/auth/mfa/totp", json={"code": pyotp.TOTP(secret).at(clock.now())}, headers=csrf(login)
    )
    assert verify.status_code == 200, verify.text
    done = verify.json()
    assert done["mfa_complete"] is True
    assert done["methods"] == ["totp", "recovery"]
    assert len(done["recovery_codes"]) == 10
    # The id rotated when the session gained MFA: the pre-MFA cookie is dead.
    assert client.cookies.get("casevault_session") != old_cookie

    sessions = client.get("/api/v1/auth/sessions")
    assert sessions.status_code == 200
    [listed] = sessions.json()["sessions"]
    assert listed["current"] is True
    assert listed["mfa_method"] == "totp"
    assert listed["ip_prefix"] == "203.0.113.0/24"

    actions = _actions(db)
    for expected in ("signin.succeeded", "session.created", "mfa.enrolled", "mfa.verified", "session.rotated"):
        assert expected in actions


def test_rotated_cookie_is_refused(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    staff = make_staff("bea", totp=True)
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "bea", "password": PASSWORD})
    stale = client.cookies.get("casevault_session")
    assert stale
    client.post("/api/v1/auth/mfa/totp", json={"code": totp_now(staff, clock)}, headers=csrf(login))
    thief = browser()
    thief.cookies.set("casevault_session", stale)
    assert thief.get("/api/v1/auth/session").status_code == 401


@pytest.mark.postgres
def test_replayed_totp_code_is_rejected(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    staff = make_staff("cyd", totp=True)
    code = totp_now(staff, clock)
    first = browser()
    login = first.post("/api/v1/auth/login", json={"username": "cyd", "password": PASSWORD})
    assert first.post("/api/v1/auth/mfa/totp", json={"code": code}, headers=csrf(login)).status_code == 200

    # Same code, same 30 s step, from a second sign-in (as an attacker who watched it being typed).
    second = browser()
    login2 = second.post("/api/v1/auth/login", json={"username": "cyd", "password": PASSWORD})
    replay = second.post("/api/v1/auth/mfa/totp", json={"code": code}, headers=csrf(login2))
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "mfa_failed"
    # An older step inside the ±1 window is refused too once a newer one was used.
    previous = str(pyotp.TOTP(staff.totp_secret or "").at(clock.now() - timedelta(seconds=30)))
    assert second.post("/api/v1/auth/mfa/totp", json={"code": previous}, headers=csrf(login2)).status_code == 401

    clock.advance(timedelta(seconds=30))
    fresh = second.post("/api/v1/auth/mfa/totp", json={"code": totp_now(staff, clock)}, headers=csrf(login2))
    assert fresh.status_code == 200


def test_password_only_session_reaches_no_protected_route(
    app: FastAPI, browser: Browser, make_staff: MakeStaff
) -> None:
    make_staff("dan", totp=True)
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "dan", "password": PASSWORD})
    headers = csrf(login)
    checked = 0
    for prefix, route in _api_routes(app.router):
        marks = [declared_permission(dep.call) for dep in route.dependant.dependencies if dep.call]
        marks += [declared_permission(dep.dependency) for dep in route.dependencies if dep.dependency]
        if any(mark and (mark.startswith(("public:", "signing-in:"))) for mark in marks):
            continue
        path = prefix + route.path
        for name in route.param_convertors:
            value = "00000000-0000-4000-8000-000000000000" if "id" in name else "CV-2026-000001"
            path = path.replace("{" + name + "}", value)
        for method in route.methods or ():
            response = client.request(method, path, headers=headers, json={}, follow_redirects=False)
            if not path.startswith("/api/"):
                # Console pages send a password-only session to the second-factor page instead.
                assert response.status_code in (303, 403), (method, path, response.status_code)
                if response.status_code == 303:
                    assert response.headers["location"].endswith("/sign-in/code"), (method, path)
                checked += 1
                continue
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]["code"] == "mfa_required"
            checked += 1
    assert checked >= 20


def test_case_read_with_password_only_session_is_401_not_404(
    app: FastAPI, browser: Browser, make_staff: MakeStaff
) -> None:
    assert any(prefix + r.path == "/api/v1/cases/{number}" for prefix, r in _api_routes(app.router))
    make_staff("eve", totp=True)
    client = browser()
    client.post("/api/v1/auth/login", json={"username": "eve", "password": PASSWORD})
    response = client.get("/api/v1/cases/CV-2026-000001")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "mfa_required"


def test_recovery_code_completes_sign_in_once(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    make_staff("fay")
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "fay", "password": PASSWORD})
    secret = client.post("/api/v1/auth/mfa/totp/enrol", headers=csrf(login)).json()["secret"]
    codes = client.post(
        "/api/v1/auth/mfa/totp", json={"code": pyotp.TOTP(secret).at(clock.now())}, headers=csrf(login)
    ).json()["recovery_codes"]

    other = browser()
    login2 = other.post("/api/v1/auth/login", json={"username": "fay", "password": PASSWORD})
    used = other.post("/api/v1/auth/recovery", json={"code": codes[0].lower()}, headers=csrf(login2))
    assert used.status_code == 200
    assert used.json()["mfa_complete"] is True

    third = browser()
    login3 = third.post("/api/v1/auth/login", json={"username": "fay", "password": PASSWORD})
    again = third.post("/api/v1/auth/recovery", json={"code": codes[0]}, headers=csrf(login3))
    assert again.status_code == 401


def test_password_only_session_cannot_enrol_a_new_factor_when_one_exists(
    browser: Browser, make_staff: MakeStaff, db: Database
) -> None:
    make_staff("gus", totp=True)
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "gus", "password": PASSWORD})
    assert client.post("/api/v1/auth/mfa/totp/enrol", headers=csrf(login)).status_code == 401
    assert client.post("/api/v1/auth/mfa/webauthn/register/options", headers=csrf(login)).status_code == 401


def test_too_many_wrong_codes_kill_the_session(browser: Browser, make_staff: MakeStaff, db: Database) -> None:
    make_staff("hal", totp=True)
    client = browser()
    login = client.post("/api/v1/auth/login", json={"username": "hal", "password": PASSWORD})
    for _ in range(5):
        wrong = client.post("/api/v1/auth/mfa/totp", json={"code": "000000"}, headers=csrf(login))
        assert wrong.status_code == 401
    assert client.get("/api/v1/auth/session").status_code == 401
    with db.sessions() as session:
        [row] = session.scalars(select(StaffSession)).all()
        assert row.revoked_reason == "too many mfa failures"


def test_full_sign_in_helper(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    staff = make_staff("ivy", totp=True)
    client = browser()
    token = sign_in_with_totp(client, staff, clock)
    info = client.get("/api/v1/auth/session").json()
    assert info["mfa_complete"] is True
    assert info["csrf_token"] == token
    assert info["username"] == "ivy"
