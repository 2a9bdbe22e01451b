"""The read-budget tests' world: tiny limits, and the agent's credentials and cases."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

import pyotp
from fastapi.testclient import TestClient

from casevault.config import ReadBudgetLimits
from casevault.crypto import Keyring
from casevault.db import Database
from casevault.identity import FixedClock

PASSWORD = "violet-harbour-lantern-42"
CASES = 8
# Tiny limits: three customers opened per hour before step-up, five before containment; lists far higher.
TINY = ReadBudgetLimits(
    opened_soft_hour=3,
    opened_hard_hour=5,
    opened_soft_day=50,
    opened_hard_day=50,
    listed_soft_hour=50,
    listed_hard_hour=50,
    listed_soft_day=50,
    listed_hard_day=50,
)


@dataclasses.dataclass
class BudgetWorld:
    """The app, the agent's credentials and the case numbers (one customer each), oldest first."""

    client_factory: Callable[[], TestClient]
    db: Database
    keyring: Keyring
    agent_id: uuid.UUID
    totp_secret: str
    token: str
    cases: list[str]
    customers: list[str]
    clock: FixedClock

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def totp(self) -> str:
        return str(pyotp.TOTP(self.totp_secret).at(self.clock.now()))

    def sign_in(self) -> tuple[TestClient, str]:
        """A browser with an MFA-complete session; returns it and its CSRF token."""
        client = self.client_factory()
        first = client.post("/api/v1/auth/login", json={"username": "agnes", "password": PASSWORD})
        assert first.status_code == 200, first.text
        second = client.post(
            "/api/v1/auth/mfa/totp", json={"code": self.totp()}, headers={"x-csrf-token": first.json()["csrf_token"]}
        )
        assert second.status_code == 200, second.text
        return client, str(second.json()["csrf_token"])
