"""Who is acting: built once per request or CLI command from an authenticated session or token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from casevault.access.roles import Role

__all__ = ["Actor", "AuthMethod"]


class AuthMethod(StrEnum):
    """How the actor proved who it is; tokens and the CLI can never satisfy step-up."""

    SESSION = "session"
    TOKEN = "token"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated principal. Carries references, never secrets."""

    staff_id: uuid.UUID | None
    username: str
    role: Role | None
    method: AuthMethod
    session_ref: str | None = None
    ip_prefix: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    mfa_verified_at: datetime | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The platform itself (migrations, seeding, scheduled jobs)."""
        return cls(staff_id=None, username=name, role=None, method=AuthMethod.SYSTEM)

    @classmethod
    def cli(cls, operator: str) -> Actor:
        """An operator at the server's shell, who already holds the key material."""
        return cls(staff_id=None, username=f"cli:{operator}"[:64], role=Role.ADMIN, method=AuthMethod.CLI)
