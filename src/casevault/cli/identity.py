"""`casevault staff reset-mfa | unlock | set-password`: operator recovery paths for sign-in, all audited."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from casevault.cli.common import (
    DatabaseUrlOption,
    DataDirOption,
    console,
    fail,
    load_settings,
    open_database,
    open_keyring,
)
from casevault.cli.staff import UsernameOption, cli_actor, staff_app
from casevault.errors import InvalidInput
from casevault.identity.clock import SystemClock
from casevault.identity.services import IdentityContext, reset_mfa, set_password, staff_by_username, unlock_account

__all__ = ["register"]


@staff_app.command("reset-mfa")
def reset_mfa_command(
    username: UsernameOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (ticket number, how identity was checked).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Remove a staff member's TOTP, passkeys and recovery codes and end their sessions; raises a high alert.

    This is the shell operator's path (they already hold the key material). In the web API a reset needs two
    administrators: one requests, another approves.
    """
    if len(reason.strip()) < 3:
        fail("--reason must say why (at least 3 characters)", code=2)
    if not yes and not typer.confirm(f"Reset every second factor of {username} and sign them out everywhere?"):
        raise typer.Exit(1)
    settings = load_settings(data_dir, database_url)
    with open_database(settings) as db, db.unit_of_work() as session:
        staff = staff_by_username(session, username)
        if staff is None:
            fail(f"no staff member named {username}", code=2)
        reset_mfa(session, staff, actor=cli_actor(), reason=reason.strip(), now=SystemClock().now())
    console.print(f"reset second factors of [bold]{username}[/]; they enrol again at next sign-in (alert raised)")


@staff_app.command("unlock")
def unlock_command(
    username: UsernameOption,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Clear the failed-sign-in counter and lock of an account."""
    settings = load_settings(data_dir, database_url)
    keyring = open_keyring(settings)
    with open_database(settings) as db, db.unit_of_work() as session:
        staff = staff_by_username(session, username)
        if staff is None:
            fail(f"no staff member named {username}", code=2)
        cleared = unlock_account(session, staff, keyring=keyring, actor=cli_actor())
    console.print(f"unlocked [bold]{username}[/]" if cleared else f"{username} was not locked")


@staff_app.command("set-password")
def set_password_command(
    username: UsernameOption,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input (for scripts).")
    ] = False,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Set a staff member's password (at least 12 characters, not a common one); ends all their sessions."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    settings = load_settings(data_dir, database_url)
    ctx = IdentityContext(settings=settings, keyring=open_keyring(settings), clock=SystemClock())
    with open_database(settings) as db, db.unit_of_work() as session:
        staff = staff_by_username(session, username)
        if staff is None:
            fail(f"no staff member named {username}", code=2)
        try:
            revoked = set_password(session, staff, password, ctx=ctx, actor=cli_actor())
        except InvalidInput as exc:
            fail(exc.public_message, code=2)
    console.print(f"password set for [bold]{username}[/]; {revoked} session(s) ended")


def register(app: typer.Typer) -> None:
    """The commands above attach to the `staff` group that cli.staff registers; nothing to add at the root."""
    del app
