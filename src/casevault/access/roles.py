"""Staff roles; policies and the permission baseline key on them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    """What a staff member is for."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    SECURITY_OFFICER = "security_officer"
    ADMIN = "admin"
