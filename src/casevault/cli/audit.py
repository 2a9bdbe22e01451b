"""`casevault audit verify | checkpoint | public-key`: check the hash chain, sign its head, publish the key."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from casevault.access.actor import Actor
from casevault.audit import AuditAction, AuditEvent, Ed25519Signer, create_checkpoint, key_id_for, record, verify
from casevault.audit.verify import VerifyReport
from casevault.cli.common import (
    DatabaseUrlOption,
    DataDirOption,
    console,
    err_console,
    fail,
    load_settings,
    open_database,
    open_keyring,
)
from casevault.config import Settings

__all__ = ["register"]

audit_app = typer.Typer(
    help="Audit trail: verify the hash chain and its signed checkpoints, sign the head, publish the key.",
    no_args_is_help=True,
)

PublicKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="Verify checkpoints with this Ed25519 public key (PEM, from `casevault audit public-key`) "
        "instead of the key file: lets an auditor verify without the master key.",
        exists=True,
        dir_okay=False,
        readable=True,
    ),
]


def _operator() -> Actor:
    return Actor.cli(getpass.getuser())


def _public_key(settings: Settings, path: Path | None) -> Ed25519PublicKey:
    if path is None:
        return Ed25519Signer.from_provider(open_keyring(settings).provider).public_key
    try:
        key = load_pem_public_key(path.read_bytes())
    except ValueError:
        fail(f"{path} is not a PEM public key", code=2)
    if not isinstance(key, Ed25519PublicKey):
        fail(f"{path} is not an Ed25519 public key", code=2)
    return key


def _print_report(report: VerifyReport) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("events checked", f"{report.events_checked:,}")
    table.add_row("head", f"seq {report.head_seq:,}  {report.head_hash[:16]}…")
    latest = "none" if report.latest_checkpoint_seq is None else f"seq {report.latest_checkpoint_seq:,}"
    table.add_row("signed checkpoints", f"{report.checkpoints_checked} (latest {latest})")
    if report.ok:
        console.print("[bold green]audit chain intact[/]")
        console.print(table)
        if report.checkpoints_checked == 0:
            console.print(
                "[yellow]no signed checkpoint yet: truncation cannot be detected; run `casevault audit checkpoint`[/]"
            )
        return
    table.add_row("problem", f"[bold red]{report.problem}[/]")
    table.add_row("first bad seq", str(report.first_bad_seq))
    table.add_row("detail", report.message)
    err_console.print("[bold red]audit chain TAMPERED[/]")
    err_console.print(table)


@audit_app.command("verify")
def verify_command(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    public_key: PublicKeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=100, help="Events read per query.")] = 50_000,
) -> None:
    """Recompute every event hash, check every link and signed checkpoint. Exit 0 intact, 1 tampered."""
    settings = load_settings(data_dir, database_url)
    key = _public_key(settings, public_key)
    with open_database(settings) as db:
        with db.sessions() as session:
            total = int(session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one())
        with Progress(
            TextColumn("verifying audit chain"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=as_json,
        ) as progress:
            task = progress.add_task("verify", total=total)
            report = verify(db.engine, keys=[key], chunk_size=chunk_size, progress=lambda n: progress.advance(task, n))
        try:
            with db.unit_of_work() as session:
                record(
                    session,
                    actor=_operator(),
                    action=AuditAction.AUDIT_VERIFIED,
                    target_type="audit_events",
                    detail={
                        "ok": report.ok,
                        "events_checked": report.events_checked,
                        "problem": str(report.problem) if report.problem else None,
                        "first_bad_seq": report.first_bad_seq,
                    },
                )
        except SQLAlchemyError as exc:
            # A read-only connection can still verify; say that the run itself was not recorded.
            err_console.print(f"[yellow]warning: could not record this verification ({type(exc).__name__})[/]")
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("checkpoint")
def checkpoint_command(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Sign the current chain head with the audit key (Ed25519), so later truncation or rewriting shows."""
    settings = load_settings(data_dir, database_url)
    signer = Ed25519Signer.from_provider(open_keyring(settings).provider)
    with open_database(settings) as db, db.unit_of_work() as session:
        checkpoint = create_checkpoint(session, signer)
        if checkpoint is None:
            console.print("the audit chain is empty: nothing to sign")
            return
        record(
            session,
            actor=_operator(),
            action=AuditAction.AUDIT_CHECKPOINTED,
            target_type="audit_checkpoints",
            detail={"seq": checkpoint.seq, "key_id": checkpoint.key_id},
        )
    console.print(f"[bold green]checkpoint signed[/] at seq {checkpoint.seq:,}")
    # One line each (no wrapping), so the lines can be copied or shipped elsewhere as they are.
    console.print(f"head hash  {checkpoint.head_hash.hex()}", soft_wrap=True, highlight=False)
    console.print(f"key id     {checkpoint.key_id}", soft_wrap=True, highlight=False)
    console.print(f"signature  {checkpoint.signature.hex()}", soft_wrap=True, highlight=False)
    console.print("Keep a copy of these lines outside this server: they prove the chain up to this seq.")


@audit_app.command("public-key")
def public_key_command(data_dir: DataDirOption = None) -> None:
    """Print the checkpoint verification key (PEM) and its key id; safe to publish."""
    settings = load_settings(data_dir)
    signer = Ed25519Signer.from_provider(open_keyring(settings).provider)
    pem = signer.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    # The PEM alone goes to stdout, so `casevault audit public-key > audit.pub` is usable with --public-key.
    err_console.print(f"key id {key_id_for(signer.public_key)}", highlight=False)
    typer.echo(pem, nl=False)


def register(app: typer.Typer) -> None:
    """Add the `audit` command group to the root app."""
    app.add_typer(audit_app, name="audit")
