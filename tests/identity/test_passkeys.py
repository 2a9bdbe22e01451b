"""Passkey sign-in over HTTP with real attestation and assertion objects (soft-webauthn and our own authenticator)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from soft_webauthn import SoftWebauthnDevice
from sqlalchemy import select

from casevault.db import Database
from casevault.identity import FixedClock, WebauthnCredential

from .authenticator import SoftAuthenticator, b64url, unb64url
from .conftest import ORIGIN, PASSWORD, Browser, MakeStaff, csrf, sign_in_with_totp, totp_now


def _login(client: TestClient, username: str) -> str:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def _enrol(client: TestClient, username: str, device: SoftAuthenticator) -> str:
    token = _login(client, username)
    options = client.post("/api/v1/auth/mfa/webauthn/register/options", headers=csrf(token))
    assert options.status_code == 200, options.text
    assert options.json()["rp"]["id"] == "localhost"
    credential = device.create(options.json(), ORIGIN)
    done = client.post(
        "/api/v1/auth/mfa/webauthn/register", json={"credential": credential, "name": "laptop"}, headers=csrf(token)
    )
    assert done.status_code == 200, done.text
    assert done.json()["mfa_complete"] is True
    assert len(done.json()["recovery_codes"]) == 10
    new_token: str = done.json()["csrf_token"]
    return new_token


def _passkey_sign_in(client: TestClient, username: str, device: SoftAuthenticator, **kwargs: Any) -> Any:
    token = _login(client, username)
    options = client.post("/api/v1/auth/mfa/webauthn/authenticate/options", headers=csrf(token))
    assert options.status_code == 200
    assertion = device.get(options.json(), ORIGIN, **kwargs)
    return client.post("/api/v1/auth/mfa/webauthn/authenticate", json={"credential": assertion}, headers=csrf(token))


@pytest.mark.postgres
def test_enrol_and_sign_in_with_a_packed_passkey(browser: Browser, make_staff: MakeStaff, db: Database) -> None:
    make_staff("pam")
    device = SoftAuthenticator(attestation="packed")
    _enrol(browser(), "pam", device)
    response = _passkey_sign_in(browser(), "pam", device)
    assert response.status_code == 200, response.text
    assert response.json()["mfa_complete"] is True
    assert response.json()["methods"] == ["webauthn", "recovery"]
    with db.sessions() as session:
        [stored] = session.scalars(select(WebauthnCredential)).all()
        assert stored.sign_count == 1
        assert stored.name == "laptop"


def test_soft_webauthn_device_none_attestation_signs_in(browser: Browser, make_staff: MakeStaff) -> None:
    """soft-webauthn makes "none" attestation without user verification: fine for sign-in, never for step-up."""
    make_staff("quin")
    device = SoftWebauthnDevice()
    client = browser()
    token = _login(client, "quin")
    options = client.post("/api/v1/auth/mfa/webauthn/register/options", headers=csrf(token)).json()
    created = device.create(_binary_options(options, "user"), ORIGIN)
    done = client.post(
        "/api/v1/auth/mfa/webauthn/register", json={"credential": _jsonable(created)}, headers=csrf(token)
    )
    assert done.status_code == 200, done.text
    token = done.json()["csrf_token"]

    other = browser()
    token2 = _login(other, "quin")
    request_options = other.post("/api/v1/auth/mfa/webauthn/authenticate/options", headers=csrf(token2)).json()
    assertion = device.get(_binary_options(request_options), ORIGIN)
    signed_in = other.post(
        "/api/v1/auth/mfa/webauthn/authenticate", json={"credential": _jsonable(assertion)}, headers=csrf(token2)
    )
    assert signed_in.status_code == 200, signed_in.text
    # Without the UV flag this sign-in does not open the step-up window.
    assert other.post("/api/v1/auth/recovery-codes", headers=csrf(signed_in.json()["csrf_token"])).status_code == 401


def test_challenges_are_single_use(browser: Browser, make_staff: MakeStaff) -> None:
    make_staff("rae")
    device = SoftAuthenticator()
    _enrol(browser(), "rae", device)
    client = browser()
    token = _login(client, "rae")
    options = client.post("/api/v1/auth/mfa/webauthn/authenticate/options", headers=csrf(token)).json()
    assertion = device.get(options, ORIGIN)
    wrong = copy.deepcopy(assertion)
    wrong["response"]["signature"] = b64url(b"\x30\x06\x02\x01\x01\x02\x01\x01")
    first = client.post("/api/v1/auth/mfa/webauthn/authenticate", json={"credential": wrong}, headers=csrf(token))
    assert first.status_code == 401
    # The challenge was consumed by the failed answer: the genuine one cannot reuse it.
    second = client.post("/api/v1/auth/mfa/webauthn/authenticate", json={"credential": assertion}, headers=csrf(token))
    assert second.status_code == 401


def test_replayed_assertion_and_stale_counter_are_rejected(browser: Browser, make_staff: MakeStaff) -> None:
    make_staff("sol")
    device = SoftAuthenticator()
    _enrol(browser(), "sol", device)
    client = browser()
    token = _login(client, "sol")
    options = client.post("/api/v1/auth/mfa/webauthn/authenticate/options", headers=csrf(token)).json()
    assertion = device.get(options, ORIGIN)
    ok = client.post("/api/v1/auth/mfa/webauthn/authenticate", json={"credential": assertion}, headers=csrf(token))
    assert ok.status_code == 200

    # Fresh challenge, but a cloned authenticator whose counter went backwards.
    other = browser()
    token2 = _login(other, "sol")
    options2 = other.post("/api/v1/auth/mfa/webauthn/authenticate/options", headers=csrf(token2)).json()
    device.sign_count = 0
    cloned = device.get(options2, ORIGIN)
    assert unb64url(cloned["response"]["authenticatorData"])[33:37] == b"\x00\x00\x00\x01"
    refused = other.post("/api/v1/auth/mfa/webauthn/authenticate", json={"credential": cloned}, headers=csrf(token2))
    assert refused.status_code == 401


def test_wrong_origin_is_rejected(browser: Browser, make_staff: MakeStaff) -> None:
    make_staff("tia")
    device = SoftAuthenticator()
    _enrol(browser(), "tia", device)
    client = browser()
    token = _login(client, "tia")
    options = client.post("/api/v1/auth/mfa/webauthn/authenticate/options", headers=csrf(token)).json()
    phished = device.get(options, "https://casevault-login.example")
    response = client.post("/api/v1/auth/mfa/webauthn/authenticate", json={"credential": phished}, headers=csrf(token))
    assert response.status_code == 401


def test_step_up_with_passkey_requires_user_verification(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock
) -> None:
    make_staff("uma")
    device = SoftAuthenticator()
    _enrol(browser(), "uma", device)
    client = browser()
    response = _passkey_sign_in(client, "uma", device, verified=False)
    token = response.json()["csrf_token"]
    clock.advance(timedelta(minutes=6))
    assert client.post("/api/v1/auth/recovery-codes", headers=csrf(token)).status_code == 401

    options = client.post("/api/v1/auth/step-up/webauthn/options", headers=csrf(token)).json()
    assert options["userVerification"] == "required"
    presence_only = device.get(options, ORIGIN, verified=False)
    refused = client.post("/api/v1/auth/step-up", json={"credential": presence_only}, headers=csrf(token))
    assert refused.status_code == 401

    options = client.post("/api/v1/auth/step-up/webauthn/options", headers=csrf(token)).json()
    verified = device.get(options, ORIGIN, verified=True)
    stepped = client.post("/api/v1/auth/step-up", json={"credential": verified}, headers=csrf(token))
    assert stepped.status_code == 200, stepped.text
    assert client.post("/api/v1/auth/recovery-codes", headers=csrf(stepped.json()["csrf_token"])).status_code == 200


def _binary_options(options: dict[str, Any], user_key: str | None = None) -> dict[str, Any]:
    """soft-webauthn wants the browser-side shape: {"publicKey": {...}} with bytes for the challenge."""
    public_key = dict(options)
    public_key["challenge"] = unb64url(options["challenge"])
    if user_key:
        public_key[user_key] = dict(options[user_key], id=unb64url(options[user_key]["id"]))
    return {"publicKey": public_key}


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return b64url(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items() if key != "id" or not isinstance(item, bytes)} | (
            {"id": b64url(value["rawId"])} if "rawId" in value else {}
        )
    return value


def test_adding_a_passkey_later_needs_step_up(browser: Browser, make_staff: MakeStaff, clock: FixedClock) -> None:
    account = make_staff("val", totp=True)
    client = browser()
    token = sign_in_with_totp(client, account, clock)
    clock.advance(timedelta(minutes=6))
    stale = client.post("/api/v1/auth/mfa/webauthn/register/options", headers=csrf(token))
    assert stale.status_code == 401
    assert stale.json()["error"]["code"] == "step_up_required"

    clock.advance(timedelta(seconds=30))
    stepped = client.post("/api/v1/auth/step-up", json={"code": totp_now(account, clock)}, headers=csrf(token))
    token = stepped.json()["csrf_token"]
    device = SoftAuthenticator(attestation="packed")
    options = client.post("/api/v1/auth/mfa/webauthn/register/options", headers=csrf(token)).json()
    added = client.post(
        "/api/v1/auth/mfa/webauthn/register", json={"credential": device.create(options, ORIGIN)}, headers=csrf(token)
    )
    assert added.status_code == 200, added.text
    # provisioned TOTP came without recovery codes, so only the two factors are listed
    assert added.json()["methods"] == ["webauthn", "totp"]
    assert added.json()["recovery_codes"] is None
    response = _passkey_sign_in(browser(), "val", device)
    assert response.status_code == 200
