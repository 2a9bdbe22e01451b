"""`casevault staff create/list/disable` and `casevault token create`: staff accounts and API tokens, audited."""

from __future__ import annotations

import getpass
import re
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.permissions import Permission, role_allows
from casevault.access.roles import Role
from casevault.audit.events import AuditAction
from casevault.audit.trail import record
from casevault.cli.common import (
    DatabaseUrlOption,
    DataDirOption,
    console,
    err_console,
    fail,
    load_settings,
    open_database,
)
from casevault.db.base import utcnow
from casevault.identity.models import ApiToken, Staff, StaffStatus
from casevault.identity.services import revoke_all_sessions
from casevault.identity.tokens import issue_token

__all__ = ["cli_actor", "register", "staff_app", "token_app"]

staff_app = typer.Typer(help="Manage staff accounts (every change is audited).", no_args_is_help=True)
token_app = typer.Typer(help="Manage staff API tokens (every change is audited).", no_args_is_help=True)

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

UsernameOption = Annotated[str, typer.Option("--username", help="Login name: lower-case letters, digits, . _ -")]


def cli_actor() -> Actor:
    """The operator at this shell, as recorded in the audit trail."""
    return Actor.cli(getpass.getuser())


def _check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        fail("--username must be 2-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit", code=2)
    return username


def _staff_by_username(session: Session, username: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        fail(f"no staff member with username {username!r}")
    return staff


@staff_app.command("create")
def create_staff(
    username: UsernameOption,
    display_name: Annotated[str, typer.Option("--display-name", help="Name shown to colleagues.")],
    role: Annotated[Role, typer.Option("--role", help="What the person is for.")],
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create an active staff account (sign-in and MFA enrolment come afterwards)."""
    _check_username(username)
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= 200:
        fail("--display-name must be 1-200 characters", code=2)
    settings = load_settings(data_dir, database_url)
    with open_database(settings) as db, db.unit_of_work() as session:
        if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
            fail(f"a staff member with username {username!r} already exists")
        staff = Staff(username=username, display_name=display_name, role=role, status=StaffStatus.ACTIVE)
        session.add(staff)
        session.flush()
        record(
            session,
            actor=cli_actor(),
            action=AuditAction.STAFF_CREATED,
            target_type="staff",
            target_id=str(staff.id),
            detail={"role": str(role)},
        )
    console.print(f"created {role} [bold]{username}[/]")


@staff_app.command("list")
def list_staff(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Show every staff account with its role, status and number of live API tokens."""
    settings = load_settings(data_dir, database_url)
    now = utcnow()
    with open_database(settings) as db, db.sessions() as session:
        live_tokens = (
            select(ApiToken.staff_id, func.count().label("live"))
            .where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
            .group_by(ApiToken.staff_id)
            .subquery()
        )
        rows = session.execute(
            select(Staff, func.coalesce(live_tokens.c.live, 0))
            .outerjoin(live_tokens, live_tokens.c.staff_id == Staff.id)
            .order_by(Staff.role, Staff.username)
        ).all()
    table = Table(title=f"{len(rows)} staff")
    for column in ("username", "name", "role", "status", "live tokens", "created"):
        table.add_column(column)
    for staff, live in rows:
        status = str(staff.status) if staff.status == StaffStatus.ACTIVE else f"[red]{staff.status}[/]"
        table.add_row(
            staff.username, staff.display_name, str(staff.role), status, str(live), f"{staff.created_at:%Y-%m-%d}"
        )
    console.print(table)


@staff_app.command("disable")
def disable_staff(
    username: Annotated[str, typer.Argument(help="The account to suspend.")],
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Suspend an account at once and revoke all its API tokens and sign-in sessions."""
    _check_username(username)
    settings = load_settings(data_dir, database_url)
    now = utcnow()
    with open_database(settings) as db, db.unit_of_work() as session:
        staff = _staff_by_username(session, username)
        live = session.scalars(
            select(ApiToken).where(ApiToken.staff_id == staff.id, ApiToken.revoked_at.is_(None))
        ).all()
        actor = cli_actor()
        for token in live:
            token.revoked_at = now
            record(
                session,
                actor=actor,
                action=AuditAction.TOKEN_REVOKED,
                target_type="token",
                target_id=str(token.id),
                reason="owner suspended",
            )
        sessions = revoke_all_sessions(session, staff, actor=actor, reason="owner suspended", now=now)
        already = staff.status == StaffStatus.SUSPENDED
        staff.status = StaffStatus.SUSPENDED
        record(
            session,
            actor=actor,
            action=AuditAction.STAFF_SUSPENDED,
            target_type="staff",
            target_id=str(staff.id),
            detail={"tokens_revoked": len(live), "sessions_revoked": sessions, "already_suspended": already},
        )
    console.print(f"suspended [bold]{username}[/]; revoked {len(live)} API token(s) and {sessions} session(s)")


@token_app.command("create")
def create_token(
    username: UsernameOption,
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'ci-export'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="Permission the token may use (repeat), e.g. case:read. Must fit the role."),
    ] = None,
    ttl_days: Annotated[int, typer.Option("--ttl-days", min=1, max=365, help="Days until it expires.")] = 30,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a scoped, expiring API token; the secret is printed once on stdout and never stored."""
    _check_username(username)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        fail("--name must be 1-100 characters", code=2)
    if not scope:
        fail("give at least one --scope, e.g. --scope case:read", code=2)
    known = {str(p): p for p in Permission}
    unknown = sorted(set(scope) - known.keys())
    if unknown:
        fail(f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}", code=2)
    settings = load_settings(data_dir, database_url)
    with open_database(settings) as db, db.unit_of_work() as session:
        staff = _staff_by_username(session, username)
        if staff.status != StaffStatus.ACTIVE:
            fail(f"{username!r} is suspended; tokens cannot be issued to suspended accounts")
        beyond_role = sorted(s for s in set(scope) if not role_allows(staff.role, known[s]))
        if beyond_role:
            fail(f"role {staff.role} does not hold {', '.join(beyond_role)}", code=2)
        token, secret = issue_token(session, staff, name=name, scopes=scope, ttl=timedelta(days=ttl_days))
        session.flush()
        record(
            session,
            actor=cli_actor(),
            action=AuditAction.TOKEN_CREATED,
            target_type="token",
            target_id=str(token.id),
            detail={"staff_id": str(staff.id), "scopes": token.scopes, "ttl_days": ttl_days},
        )
    err_console.print(
        f"token [bold]{name}[/] for {username} ({', '.join(token.scopes)}), expires {token.expires_at:%Y-%m-%d %H:%M} "
        "UTC. It is shown once:"
    )
    # The secret alone on stdout, so `TOKEN=$(casevault token create ...)` works.
    typer.echo(secret)


def register(app: typer.Typer) -> None:
    """Add the `staff` and `token` groups to the root app."""
    app.add_typer(staff_app, name="staff")
    app.add_typer(token_app, name="token")
