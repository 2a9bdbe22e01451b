"""`casevault incident blast-radius | contain | notify-export | verify`: incident response from the audit trail."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.panel import Panel
from rich.table import Table
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.rls import bind_actor
from casevault.audit.checkpoints import Ed25519Signer
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
from casevault.errors import CasevaultError, InvalidInput, NotFound
from casevault.incident import (
    BlastModel,
    BlastRadiusReport,
    ExportFormat,
    build_query,
    contain_account,
    export_notifications,
    get_incident,
    record_incident,
    render,
    run_blast_radius,
    verify_incident,
)

__all__ = ["register"]

incident_app = typer.Typer(
    help="Incident response: exact blast radius of an account or session, containment, customer notifications.",
    no_args_is_help=True,
)

_RELATIVE = re.compile(r"^(\d{1,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

ActorOption = Annotated[
    str, typer.Option("--actor", help="The staff account under investigation (username or staff id).")
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Window start (inclusive): ISO 8601 (no zone = UTC) or relative like 30d, 12h. Default: trail start.",
        show_default=False,
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Window end (exclusive), same forms as --since. Default: now.", show_default=False),
]


def _moment(name: str, value: str | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{name}: not an ISO 8601 time or a relative time like 30d", code=2)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _operator() -> Actor:
    return Actor.cli(getpass.getuser())


def _as_operator(session: Session) -> Actor:
    """The CLI operator, bound to the transaction so PostgreSQL row-level security lets it read (ADR 0552)."""
    operator = _operator()
    bind_actor(session, operator)
    return operator


def _keys(settings: Settings) -> list[Ed25519PublicKey]:
    return [Ed25519Signer.from_provider(open_keyring(settings).provider).public_key]


@contextmanager
def _domain_errors() -> Iterator[None]:
    """Domain errors become one-line messages: unknown names and bad input are usage errors (exit 2)."""
    try:
        yield
    except (NotFound, InvalidInput) as exc:
        fail(exc.public_message, code=2)
    except CasevaultError as exc:
        fail(exc.public_message)


def _chain_banner(report: BlastRadiusReport) -> None:
    chain = report.chain
    if chain.broken:
        scope = "the figures below may be incomplete" if chain.affects_window else "the break is after the window"
        err_console.print(
            Panel(
                f"[bold]AUDIT CHAIN BROKEN[/]: {chain.problem} at seq {chain.first_bad_seq} "
                f"({chain.message}); {scope}.",
                style="bold red",
                title="WARNING",
            )
        )


def _print_table(report: BlastRadiusReport) -> None:
    _chain_banner(report)
    console.print(report.summary, highlight=False, soft_wrap=True)
    if not report.customers:
        return
    table = Table(title=f"{len(report.customers)} affected customers")
    # The reference is what people copy into tickets: never wrap it; the rest may fold on narrow terminals.
    table.add_column("customer", no_wrap=True)
    for column in ("exposure", "country", "sector", "cases", "fields", "first", "last", "sessions", "IPs"):
        table.add_column(column, overflow="fold")
    for customer in report.customers:
        fields = ", ".join(
            f"[bold red]{f.name}:{f.entity_type}[/]" if f.shown == "revealed" else f"{f.name}({f.shown})"
            for f in customer.fields
        )
        level = f"[bold red]{customer.exposure}[/]" if customer.revealed else str(customer.exposure)
        table.add_row(
            customer.reference,
            level,
            customer.country,
            customer.sector,
            ", ".join(customer.cases),
            fields,
            customer.first_seen.strftime("%Y-%m-%d %H:%M:%S"),
            customer.last_seen.strftime("%Y-%m-%d %H:%M:%S"),
            ", ".join(customer.sessions),
            ", ".join(customer.ip_prefixes),
        )
    console.print(table)
    for title, rows in (
        ("by exposure", report.by_exposure),
        ("by country", report.by_country),
        ("by sector", report.by_sector),
    ):
        breakdown = Table(title=title)
        breakdown.add_column("key")
        breakdown.add_column("customers", justify="right")
        breakdown.add_column("share", justify="right")
        for row in rows:
            breakdown.add_row(row.key, str(row.customers), f"{row.share:.1%}")
        console.print(breakdown)


def _csv(report: BlastRadiusReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["customer_reference", "customer_id", "exposure", "revealed", "wrote", "country", "sector", "cases",
         "fields_revealed", "fields_masked", "first_seen", "last_seen", "events", "sessions", "ip_prefixes"]
    )  # fmt: skip
    for c in report.customers:
        data = c.as_dict()
        writer.writerow(
            [c.reference, str(c.customer_id), str(c.exposure), c.revealed, c.wrote, c.country, c.sector,
             "; ".join(c.cases),
             "; ".join(f"{f.name}:{f.entity_type}" for f in c.fields if f.shown == "revealed"),
             "; ".join(f"{f.name}:{f.entity_type}" for f in c.fields if f.shown != "revealed"),
             data["first_seen"], data["last_seen"], c.events, "; ".join(c.sessions), "; ".join(c.ip_prefixes)]
        )  # fmt: skip
    return buffer.getvalue()


@incident_app.command("blast-radius")
def blast_radius(
    actor: ActorOption,
    session_ref: Annotated[
        list[str] | None,
        typer.Option("--session", help="Only these sessions (repeat): audit session_ref, or a session/token id."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    model: Annotated[
        BlastModel,
        typer.Option(
            "--model",
            help="account: all the account opened or revealed; session: only --session; "
            "screen: also customers that appeared in lists and search results.",
            case_sensitive=False,
        ),
    ] = BlastModel.ACCOUNT,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.", case_sensitive=False)] = "table",
    verify_chain: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Verify the whole audit chain first (slow on big trails).")
    ] = True,
    record: Annotated[
        bool, typer.Option("--record", help="Store the report as an incident (needs --reason); prints its id.")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (stored with the incident).")] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Which customers an account (or some of its sessions) exposed, from the audit trail; exact and audited."""
    fmt = output_format.lower()
    if fmt not in ("table", "json", "csv"):
        fail("--format must be table, json or csv", code=2)
    if record and not (reason and reason.strip()):
        fail("--record needs --reason", code=2)
    now = datetime.now(UTC)
    start, end = _moment("--since", since, now), _moment("--until", until, now)
    settings = load_settings(data_dir, database_url)
    keys = _keys(settings) if verify_chain else None
    with _domain_errors(), open_database(settings) as db, db.unit_of_work() as session:
        operator = _as_operator(session)
        query = build_query(
            session, actor_name=actor, model=model, sessions=session_ref or (), since=start, until=end, now=now
        )
        with err_console.status("computing blast radius" + (" and verifying the audit chain" if keys else "")):
            report = run_blast_radius(session, query, actor=operator, keys=keys)
        incident = record_incident(session, report, reason=reason or "", actor=operator) if record else None
    if fmt == "json":
        payload = report.as_dict()
        if incident is not None:
            payload["incident_id"] = str(incident.id)
        _chain_banner(report)
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif fmt == "csv":
        _chain_banner(report)
        sys.stdout.write(_csv(report))
    else:
        _print_table(report)
    if incident is not None:
        err_console.print(f"recorded incident [bold]{incident.id}[/]")


@incident_app.command("contain")
def contain(
    actor: ActorOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (stored with the incident and in the audit trail).")],
    since: SinceOption = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Suspend the account, revoke its sessions and API tokens, force MFA re-enrolment, record the incident."""
    if not reason.strip():
        fail("--reason must not be empty", code=2)
    now = datetime.now(UTC)
    start = _moment("--since", since, now)
    settings = load_settings(data_dir, database_url)
    keys = _keys(settings)
    with (
        _domain_errors(),
        open_database(settings) as db,
        db.unit_of_work() as session,
        err_console.status("containing the account and computing its blast radius"),
    ):
        result = contain_account(
            session, account=actor, reason=reason, actor=_as_operator(session), since=start, keys=keys
        )
    _chain_banner(result.report)
    console.print(
        f"contained [bold]{result.report.query.username}[/]: suspended"
        f"{' (already)' if result.already_suspended else ''}, {result.sessions_revoked} session(s) and "
        f"{result.tokens_revoked} API token(s) revoked, second factors reset (re-enrolment required)",
        highlight=False,
    )
    console.print(result.report.summary, highlight=False, soft_wrap=True)
    console.print(f"incident [bold]{result.incident.id}[/]", highlight=False)


@incident_app.command("verify")
def verify(
    incident_id: Annotated[str, typer.Argument(help="The incident id.")],
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Recompute a recorded incident at its chain head; exit 1 if it no longer matches or the chain is broken."""
    settings = load_settings(data_dir, database_url)
    keys = _keys(settings)
    with _domain_errors(), open_database(settings) as db, db.unit_of_work() as session:
        operator = _as_operator(session)
        incident = get_incident(session, incident_id)
        with err_console.status("recomputing the incident and verifying the audit chain"):
            result = verify_incident(session, incident, actor=operator, keys=keys)
    _chain_banner(result.recomputed)
    console.print(f"digest {'matches' if result.digest_matches else '[bold red]DIFFERS[/]'}", highlight=False)
    console.print(f"recorded chain head {'intact' if result.head_intact else '[bold red]CHANGED[/]'}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)
    console.print("[bold green]incident verified[/]")


@incident_app.command("notify-export")
def notify_export(
    incident_id: Annotated[str, typer.Argument(help="The incident id (from blast-radius --record or contain).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="File to write (created 0600; it holds contact details), or -.")
    ],
    output_format: Annotated[ExportFormat, typer.Option("--format", case_sensitive=False)] = ExportFormat.CSV,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """One record per affected customer with the contact channel (decrypted now), exposure and guidance; audited."""
    settings = load_settings(data_dir, database_url)
    keyring = open_keyring(settings)
    to_stdout = str(output) == "-"
    descriptor: int | None = None
    if not to_stdout:
        # Create the file first (exclusive, 0600) so a failure to write never follows an audited export.
        try:
            descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            fail(f"{output} exists; choose a new file", code=2)
        except OSError as exc:
            fail(f"cannot create {output}: {exc.strerror}", code=2)
    try:
        with _domain_errors(), open_database(settings) as db, db.unit_of_work() as session:
            operator = _as_operator(session)
            incident = get_incident(session, incident_id)
            records = export_notifications(session, keyring, incident, actor=operator, export_format=output_format)
            text = render(records, output_format)
    except BaseException:
        if descriptor is not None:
            os.close(descriptor)
            output.unlink(missing_ok=True)
        raise
    if descriptor is None:
        sys.stdout.write(text)
        return
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    console.print(f"wrote {len(records)} notification record(s) to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `incident` group to the root command."""
    app.add_typer(incident_app, name="incident")
