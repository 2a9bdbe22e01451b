"""Bind the acting staff member to the database transaction, so PostgreSQL row-level security can filter rows.

Migration 0005_access filters cases, notes, redaction vaults, contacts and customers by the transaction-local
setting `casevault.staff_id`; with nothing bound the application role sees no rows at all. SQLite has no
row-level security: there binding is a no-op and the access functions are the only wall.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, String, case, cast, event, func, literal, text
from sqlalchemy.orm import QueryableAttribute, Session, SessionTransaction

from casevault.access.actor import Actor, AuthMethod
from casevault.db.statements import FixedStatement

__all__ = [
    "APP_ROLE",
    "STAFF_SETTING",
    "SYSTEM_SETTING",
    "bind_actor",
    "binding_columns",
    "bound_by_statement",
    "bound_staff_id",
]

APP_ROLE: Final = "casevault_app"
STAFF_SETTING: Final = "casevault.staff_id"
# Honoured only for the role that owns the tables (it ran the migrations); ignored for the application role.
SYSTEM_SETTING: Final = "casevault.system"

_BINDING: Final = "casevault.rls.binding"
_LISTENING: Final = "casevault.rls.listening"
# (binding, transaction) a caller's own statement has already applied, so bind_actor need not send _SET again.
_APPLIED: Final = "casevault.rls.applied"

_SET = FixedStatement(
    text(f"SELECT set_config('{STAFF_SETTING}', :staff_id, true), set_config('{SYSTEM_SETTING}', :system, true)")
)


def _binding_for(actor: Actor) -> tuple[str, str]:
    """(staff id, system flag) for the actor. Only the platform and the operator's CLI act as the system."""
    if actor.staff_id is not None:
        return str(actor.staff_id), "off"
    if actor.method in (AuthMethod.SYSTEM, AuthMethod.CLI):
        return "", "on"
    return "", "off"


def _apply(connection: Connection, binding: tuple[str, str]) -> None:
    staff_id, system = binding
    _SET.run(connection, {"staff_id": staff_id, "system": system})


def binding_columns(
    staff_id: ColumnElement[Any] | QueryableAttribute[Any], valid: ColumnElement[bool]
) -> tuple[ColumnElement[str], ...]:
    """Select-list columns that bind `staff_id` as a staff actor when `valid` holds, and nobody otherwise.

    For a lookup that finds the acting staff member (the API token's), so the binding costs no round trip of its
    own (ADR 0459); the caller then reports it with `bound_by_statement`. PostgreSQL only.
    """
    staff = case((valid, cast(staff_id, String)), else_=literal(""))
    return (
        func.set_config(literal(STAFF_SETTING), staff, literal(True)),
        func.set_config(literal(SYSTEM_SETTING), literal("off"), literal(True)),
    )


def bound_by_statement(session: Session, actor: Actor) -> None:
    """Record that a statement with `binding_columns` has bound `actor` in the current transaction."""
    session.info[_APPLIED] = (_binding_for(actor), session.get_transaction())


def _rebind(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    # SET LOCAL ends with the transaction; re-apply on every new one so a mid-request commit cannot widen or
    # silently drop the binding (dropping would fail closed, but confusingly).
    binding: Any = session.info.get(_BINDING)
    if binding is not None:
        _apply(connection, binding)


def bind_actor(session: Session, actor: Actor) -> None:
    """Make `actor` the acting principal of this session's current and later transactions (PostgreSQL only).

    A staff actor sets `casevault.staff_id`; the system and CLI actors set `casevault.system = 'on'`, which only
    the owning role honours; any other actor binds nobody and sees no protected rows.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    binding = _binding_for(actor)
    session.info[_BINDING] = binding
    if not session.info.get(_LISTENING):
        event.listen(session, "after_begin", _rebind)
        session.info[_LISTENING] = True
    if session.in_transaction():
        applied = session.info.pop(_APPLIED, None)
        if applied is None or applied[0] != binding or applied[1] is not session.get_transaction():
            _apply(session.connection(), binding)
    else:
        session.connection()  # begins the transaction; the after_begin hook applies the binding


def bound_staff_id(session: Session) -> str | None:
    """The staff id bound in the current transaction, as the database sees it (None when none; SQLite: None)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    value = session.execute(text(f"SELECT current_setting('{STAFF_SETTING}', true)")).scalar_one_or_none()
    return value or None
