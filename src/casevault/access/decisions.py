"""Authorization decisions are values; the reason goes to the audit log, never to the client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["ALLOWED", "Allowed", "Decision", "Denied"]


@dataclass(frozen=True, slots=True)
class Allowed:
    """The action may proceed; `via` names the rule or grant that allowed it (for the audit log)."""

    via: str = "policy"

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Denied:
    """The action may not proceed, and why (for the audit log only)."""

    reason: str

    def __bool__(self) -> bool:
        return False


Decision = Allowed | Denied
ALLOWED: Final = Allowed()
