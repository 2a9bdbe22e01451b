"""The PostgreSQL role the server connects as: inside `casevault_app`, never one that row-level security skips.

Row-level security (migrations 0005, 0007, 0009, 0012) and the audit trail's append-only grants (0002) bind the
non-owner application role `casevault_app`. A server connected as a superuser, a BYPASSRLS role or the schema's
owner would pass every policy and could rewrite the audit trail, so `serve` refuses to start as one
(`serving_role_problem`), and `casevault init --serving-role NAME` creates the login role to serve as instead.
"""

from __future__ import annotations

import re

from psycopg import errors
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from casevault.access.rls import APP_ROLE

__all__ = ["ServingRoleError", "ensure_serving_role", "serving_role_problem", "serving_url"]

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# The audit table stands for the schema: its owner ran the migrations.
_FACTS = text(
    "SELECT r.rolname, r.rolsuper, r.rolbypassrls,"
    " pg_has_role(current_user, t.tableowner, 'USAGE') AS owns_schema,"
    " pg_has_role(current_user, :app_role, 'USAGE') AS in_app_role"
    " FROM pg_roles r, pg_tables t"
    " WHERE r.rolname = current_user AND t.schemaname = current_schema() AND t.tablename = 'audit_events'"
)


class ServingRoleError(ValueError):
    """The serving role cannot be created or used; the message names the role, never a password."""


def serving_role_problem(connection: Connection) -> str | None:
    """Why the connected role must not serve (PostgreSQL), or None when it is bound like `casevault_app`."""
    facts = connection.execute(_FACTS, {"app_role": APP_ROLE}).first()
    if facts is None:
        return "cannot see the audit_events table (is the schema migrated, and the role granted casevault_app?)"
    name = facts.rolname
    if facts.rolsuper or facts.rolbypassrls:
        return f"the database role {name} bypasses row-level security (superuser or BYPASSRLS)"
    if facts.owns_schema:
        return f"the database role {name} owns the schema, so it could rewrite the audit trail and the policies"
    if not facts.in_app_role:
        return f"the database role {name} is not a member of {APP_ROLE}"
    return None


def ensure_serving_role(connection: Connection, name: str) -> bool:
    """Create login role `name` inside `casevault_app` unless it exists; True if created. Refuses an unsafe one."""
    if not _ROLE_NAME.fullmatch(name) or name == APP_ROLE:
        raise ServingRoleError(f"not a usable role name: {name!r} (lowercase letters, digits, _; not {APP_ROLE})")
    existing = connection.execute(
        text(
            "SELECT rolsuper OR rolbypassrls AS unbound, pg_has_role(rolname, :app_role, 'USAGE') AS in_app_role"
            " FROM pg_roles WHERE rolname = :name"
        ),
        {"name": name, "app_role": APP_ROLE},
    ).first()
    if existing is not None:
        if existing.unbound:
            raise ServingRoleError(f"the role {name} exists and bypasses row-level security; choose another name")
        if not existing.in_app_role:
            raise ServingRoleError(f"the role {name} exists but is not in {APP_ROLE}: GRANT {APP_ROLE} TO {name}")
        return False
    try:
        with connection.begin_nested():
            connection.execute(text(f'CREATE ROLE "{name}" LOGIN IN ROLE {APP_ROLE}'))
    except ProgrammingError as exc:
        if isinstance(exc.orig, errors.DuplicateObject):
            return False  # created meanwhile by another `init`
        if isinstance(exc.orig, errors.InsufficientPrivilege):
            raise ServingRoleError(
                f"the migrating role may not create roles; as a role that may: CREATE ROLE {name} LOGIN IN ROLE "
                f"{APP_ROLE}"
            ) from None
        raise
    return True


def serving_url(owner_url: str, name: str) -> str:
    """The owner's database URL with the serving role as its user and no password (set one for that role)."""
    return make_url(owner_url).set(username=name, password=None).render_as_string(hide_password=False)
