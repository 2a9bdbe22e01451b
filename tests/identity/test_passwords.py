"""Password rules and brute-force defences: argon2id, the common list, backoff, lockout, no enumeration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casevault.access.actor import Actor
from casevault.audit.models import AuditEvent
from casevault.config import Settings
from casevault.db import Database
from casevault.detection import Alert
from casevault.errors import InvalidInput
from casevault.identity import FixedClock, IdentityContext, PasswordPolicy, Staff, unlock_account
from casevault.identity.passwords import common_passwords

from .conftest import PASSWORD, Browser, MakeStaff

POLICY = PasswordPolicy(min_length=12, time_cost=1, memory_kib=8, parallelism=1)


@pytest.mark.parametrize(
    ("candidate", "rule"),
    [
        ("short-pass1", "too short"),
        ("aaaaaaaaaaaaaaaa", "repetitive"),
        ("1qaz2wsx3edc4rfv", "common"),  # on the list as is
        ("password12345678", "common"),  # a listed word with digits stuck on
        ("Football!!2024", "common"),
        ("xx-grace-hopper-xx", "username"),
        ("casevault-2026!", "service"),
        ("x" * 10 + "y" * 10 + "z" * 300, "too long"),
    ],
)
def test_unacceptable_passwords_are_refused_with_the_rule_not_the_value(candidate: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        POLICY.check_acceptable(candidate, username="grace-hopper")
    assert rule in raised.value.public_message
    assert candidate not in raised.value.public_message


@pytest.mark.parametrize("candidate", ["violet-harbour-lantern-42", "correct horse battery staple", "Zq8#mP2$vL9!wR"])
def test_good_passwords_pass(candidate: str) -> None:
    POLICY.check_acceptable(candidate, username="grace")


def test_bundled_list_and_hash_format() -> None:
    words = common_passwords()
    assert len(words) == 30000
    assert {"123456", "password", "qwertyuiop", "trustno1"} <= words
    stored = POLICY.hash("violet-harbour-lantern-42")
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert POLICY.verify(stored, "violet-harbour-lantern-42")
    assert not POLICY.verify(stored, "violet-harbour-lantern-43")
    # Unknown accounts still cost one argon2 verification and never match.
    assert not POLICY.verify(None, "violet-harbour-lantern-42")


def test_production_defaults_are_rfc9106_strength() -> None:
    defaults = PasswordPolicy.from_settings(Settings())
    assert (defaults.time_cost, defaults.memory_kib, defaults.parallelism) == (3, 65536, 4)
    assert defaults.min_length == 12


def test_unknown_user_and_wrong_password_look_identical(browser: Browser, make_staff: MakeStaff) -> None:
    make_staff("kim")
    client = browser()
    wrong = client.post("/api/v1/auth/login", json={"username": "kim", "password": "not-the-password-1"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "not-the-password-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"] == "username or password is incorrect"
    assert "set-cookie" not in wrong.headers


def test_suspended_staff_cannot_sign_in_and_get_the_same_answer(
    browser: Browser, make_staff: MakeStaff, db: Database
) -> None:
    account = make_staff("lou")
    with db.unit_of_work() as session:
        staff = session.get(Staff, account.id)
        assert staff is not None
        staff.status = staff.status.SUSPENDED
    response = browser().post("/api/v1/auth/login", json={"username": "lou", "password": PASSWORD})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signin_failed"


@pytest.mark.postgres
def test_brute_force_backs_off_then_locks_until_unlocked(
    browser: Browser, make_staff: MakeStaff, clock: FixedClock, db: Database, ctx: IdentityContext
) -> None:
    account = make_staff("max")
    client = browser()

    def attempt(guess: str = "wrong-password-123") -> int:
        return client.post("/api/v1/auth/login", json={"username": "max", "password": guess}).status_code

    assert [attempt() for _ in range(3)] == [401, 401, 401]
    # Backoff after the third failure: even the right password is refused until it passes.
    assert attempt(PASSWORD) == 429
    clock.advance(timedelta(seconds=31))
    for _ in range(6):  # failures 4..9, each doubling the wait
        assert attempt() == 401
        clock.advance(timedelta(minutes=16))
    assert attempt() == 401  # tenth failure: locked
    clock.advance(timedelta(hours=2))
    assert attempt(PASSWORD) == 429

    with db.unit_of_work() as session:
        events = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action == "signin.locked_out")))
        assert events == ["signin.locked_out"]
        assert session.scalars(select(Alert.kind)).all() == ["signin.locked_out"]
        staff = session.get(Staff, account.id)
        assert staff is not None
        assert unlock_account(session, staff, keyring=ctx.keyring, actor=Actor.cli("ops"))
    assert attempt(PASSWORD) == 200


def test_unknown_names_lock_out_exactly_like_real_ones(browser: Browser, clock: FixedClock) -> None:
    client = browser()
    codes = [
        client.post("/api/v1/auth/login", json={"username": "ghost", "password": "wrong-password-123"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_per_address_throttle_spans_usernames(browser: Browser, make_staff: MakeStaff, settings: Settings) -> None:
    make_staff("ned")
    sprayer = browser(ip="198.51.100.7")
    for index in range(settings.signin_ip_failures_per_hour):
        response = sprayer.post("/api/v1/auth/login", json={"username": f"user{index}", "password": "Spring2026!!x"})
        assert response.status_code == 401
    blocked = sprayer.post("/api/v1/auth/login", json={"username": "ned", "password": PASSWORD})
    assert blocked.status_code == 429
    # Another address is unaffected.
    assert (
        browser(ip="203.0.113.50")
        .post("/api/v1/auth/login", json={"username": "ned", "password": PASSWORD})
        .status_code
        == 200
    )


def test_cross_origin_sign_in_is_refused(browser: Browser, make_staff: MakeStaff) -> None:
    make_staff("ora")
    client = browser()
    body = {"username": "ora", "password": PASSWORD}
    foreign = client.post("/api/v1/auth/login", json=body, headers={"origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers
    assert client.post("/api/v1/auth/login", json=body, headers={"origin": "http://localhost"}).status_code == 200
    assert client.post("/api/v1/auth/login", json=body).status_code == 200  # API clients send no Origin
