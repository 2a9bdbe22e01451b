"""Access control: actors, permission names, decisions as values."""

from casevault.access.actor import Actor, AuthMethod
from casevault.access.decisions import ALLOWED, Allowed, Decision, Denied
from casevault.access.permissions import ROLE_PERMISSIONS, Permission, role_allows
from casevault.access.roles import Role

__all__ = [
    "ALLOWED",
    "ROLE_PERMISSIONS",
    "Actor",
    "Allowed",
    "AuthMethod",
    "Decision",
    "Denied",
    "Permission",
    "Role",
    "role_allows",
]
