"""Permission names (`object:verb`) and the coarse role baseline every route declares one of."""

from __future__ import annotations

from enum import StrEnum

from casevault.access.roles import Role

__all__ = ["ROLE_PERMISSIONS", "Permission", "role_allows"]


class Permission(StrEnum):
    """Every permission a route can require. Object-level checks come on top, in the access functions."""

    CASE_READ = "case:read"
    CASE_CREATE = "case:create"
    CASE_UPDATE = "case:update"
    CASE_ASSIGN = "case:assign"
    CASE_TAKE = "case:take"
    CASE_REVEAL = "case:reveal"
    CASE_EXPORT = "case:export"
    NOTE_CREATE = "note:create"
    CUSTOMER_READ = "customer:read"
    CUSTOMER_MANAGE = "customer:manage"
    ORGANIZATION_MANAGE = "organization:manage"
    QUEUE_MANAGE = "queue:manage"
    STAFF_MANAGE = "staff:manage"
    TOKEN_MANAGE = "token:manage"
    GRANT_REQUEST = "grant:request"
    GRANT_APPROVE = "grant:approve"
    BREAK_GLASS = "break_glass:start"
    AUDIT_READ = "audit:read"
    ALERT_READ = "alert:read"
    INCIDENT_MANAGE = "incident:manage"
    SELF_MANAGE = "self:manage"


_WORK = {
    Permission.CASE_READ,
    Permission.CASE_CREATE,
    Permission.CASE_UPDATE,
    Permission.CASE_REVEAL,
    Permission.CASE_TAKE,
    Permission.NOTE_CREATE,
    Permission.CUSTOMER_READ,
    Permission.GRANT_REQUEST,
    Permission.BREAK_GLASS,
    Permission.SELF_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset(_WORK),
    Role.SUPERVISOR: frozenset(_WORK | {Permission.CASE_ASSIGN, Permission.GRANT_APPROVE, Permission.CUSTOMER_MANAGE}),
    # Separation of duties: security officers read audit and alerts. Their scope holds no case, so the case and
    # customer permissions below reach content only under break-glass or a JIT grant (cases/access.py).
    Role.SECURITY_OFFICER: frozenset(
        {
            Permission.CASE_READ,
            Permission.CASE_REVEAL,
            Permission.CUSTOMER_READ,
            Permission.AUDIT_READ,
            Permission.ALERT_READ,
            Permission.INCIDENT_MANAGE,
            Permission.BREAK_GLASS,
            Permission.SELF_MANAGE,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Permission.STAFF_MANAGE,
            Permission.TOKEN_MANAGE,
            Permission.QUEUE_MANAGE,
            Permission.ORGANIZATION_MANAGE,
            Permission.CUSTOMER_MANAGE,
            Permission.CASE_CREATE,
            Permission.SELF_MANAGE,
        }
    ),
}


def role_allows(role: Role | None, permission: Permission) -> bool:
    """Deny by default: unknown roles and missing roles have no permissions."""
    return role is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())
