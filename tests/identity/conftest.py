"""Sign-in fixtures: cheap argon2 parameters, a movable clock, browsers with their own address and user-agent."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.app import create_app
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.identity import FixedClock, IdentityContext, Staff, provision_credentials, set_password

ORIGIN = "http://localhost"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) CasevaultTest/1.0"
OFFICE_IP = "203.0.113.9"
PASSWORD = "violet-harbour-lantern-42"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test here runs on SQLite; those marked `postgres` run on PostgreSQL too (keeps the suite fast)."""
    here = Path(__file__).parent
    dropped: list[pytest.Item] = []
    kept: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("database_url") == "postgresql"
        if on_postgres and item.path.is_relative_to(here) and item.get_closest_marker("postgres") is None:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def settings(tmp_path: Path, key_provider: LocalKeyFile) -> Settings:
    """The shared test settings plus argon2 parameters lowered for speed (production defaults stay strong)."""
    return Settings(
        data_dir=tmp_path,
        key_file=tmp_path / "keys" / "master.key",
        cookie_secure=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
        webauthn_rp_id="localhost",
        webauthn_origins=(ORIGIN,),
        signin_ip_failures_per_hour=12,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 0, 5, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, db: Database, key_provider: LocalKeyFile, clock: FixedClock) -> FastAPI:
    application = create_app(settings, database=db, key_provider=key_provider)
    application.state.runtime = dataclasses.replace(application.state.runtime, clock=clock)
    return application


Browser = Callable[..., TestClient]


@pytest.fixture
def browser(app: FastAPI) -> Browser:
    """A new browser: its own cookie jar, client address and user-agent."""

    def make(ip: str = OFFICE_IP, user_agent: str = BROWSER_UA) -> TestClient:
        return TestClient(
            app,
            client=(ip, 50000),
            headers={"user-agent": user_agent},
            raise_server_exceptions=False,
        )

    return make


@pytest.fixture
def ctx(settings: Settings, key_provider: LocalKeyFile, clock: FixedClock) -> IdentityContext:
    return IdentityContext(settings=settings, keyring=Keyring(key_provider), clock=clock)


@dataclasses.dataclass(frozen=True)
class Account:
    """A test staff member and, when provisioned, the TOTP secret its authenticator app would hold."""

    id: uuid.UUID
    username: str
    totp_secret: str | None = None


MakeStaff = Callable[..., Account]


@pytest.fixture
def make_staff(db: Database, ctx: IdentityContext) -> MakeStaff:
    """Create a staff member with a password (and, with `totp=True`, a provisioned TOTP factor)."""

    def make(username: str, role: Role = Role.AGENT, *, password: str = PASSWORD, totp: bool = False) -> Account:
        secret = None
        with db.unit_of_work() as session:
            staff = Staff(username=username, display_name=username.title(), role=role)
            session.add(staff)
            session.flush()
            if totp:
                provisioned = provision_credentials(
                    session, staff, password=password, actor=Actor.system("test"), ctx=ctx
                )
                secret = provisioned.totp_secret
            else:
                set_password(session, staff, password, ctx=ctx, actor=Actor.system("test"))
            return Account(id=staff.id, username=staff.username, totp_secret=secret)

    return make


def totp_now(account: Account, clock: FixedClock) -> str:
    assert account.totp_secret is not None
    return str(pyotp.TOTP(account.totp_secret).at(clock.now()))


def csrf(response_or_token: object) -> dict[str, str]:
    token = response_or_token if isinstance(response_or_token, str) else response_or_token.json()["csrf_token"]  # type: ignore[attr-defined]
    return {"x-csrf-token": token}


def sign_in_with_totp(client: TestClient, staff: Account, clock: FixedClock, password: str = PASSWORD) -> str:
    """Password then TOTP; returns the MFA-complete session's CSRF token."""
    first = client.post("/api/v1/auth/login", json={"username": staff.username, "password": password})
    assert first.status_code == 200, first.text
    second = client.post("/api/v1/auth/mfa/totp", json={"code": totp_now(staff, clock)}, headers=csrf(first))
    assert second.status_code == 200, second.text
    token: str = second.json()["csrf_token"]
    return token


def step_up_with_totp(client: TestClient, staff: Account, clock: FixedClock, token: str) -> str:
    """A step-up on a signed-in session (the sign-in's own factor is none): moves the clock on to a fresh TOTP
    step, answers it, and returns the rotated CSRF token."""
    clock.advance(timedelta(seconds=30))
    stepped = client.post("/api/v1/auth/step-up", json={"code": totp_now(staff, clock)}, headers=csrf(token))
    assert stepped.status_code == 200, stepped.text
    fresh: str = stepped.json()["csrf_token"]
    return fresh
