"""`casevault drill …`: run a breach drill against this deployment (exposed-store; stolen-session joins later)."""

from __future__ import annotations

import json
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
    open_keyring,
)
from casevault.cli.staff import cli_actor
from casevault.drills import DrillError, ExposedStoreReport, run_exposed_store_drill
from casevault.drills.stolen_session import TARGET_MAX_CUSTOMERS, StolenSessionReport, run_stolen_session_drill

__all__ = ["drill_app", "register"]

drill_app = typer.Typer(help="Breach drills: see what an attacker would get, on your own deployment.")

_FINDINGS_SHOWN = 20


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@drill_app.command("exposed-store")
def exposed_store(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    values_file: Annotated[
        Path | None,
        typer.Option(
            "--values-file",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Search for these values (one per line, or kind<TAB>value) instead of decrypting the store's own.",
        ),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table for people, json for CI.")] = (
        OutputFormat.TABLE
    ),
) -> None:
    """Search every byte an exposed deployment would give away for the PII it holds; exit 1 if any is found.

    Bytes: the database (SQLite file with WAL/SHM, or a pg_dump kept in memory), logs, backups: all but the keys.

    Values: decrypted with the operator's key, or read from --values-file. The report never shows a value.
    """
    settings = load_settings(data_dir, database_url)
    if not settings.data_dir.is_dir():
        fail(f"data directory {settings.data_dir} does not exist", code=2)
    keyring = None if values_file is not None else open_keyring(settings)
    try:
        if keyring is not None:
            # Refuse an unmigrated or unreachable database with the usual one-line error.
            with open_database(settings):
                pass
        status = err_console.status("collecting the exposed bytes and searching them…")
        with status:
            report = run_exposed_store_drill(settings, keyring=keyring, values_file=values_file)
    except DrillError as exc:
        fail(str(exc))
    if keyring is not None:
        # The operator just decrypted every value: that is worth an audit line (counts only).
        with open_database(settings) as db, db.unit_of_work() as session:
            record(
                session,
                actor=cli_actor(),
                action=AuditAction.DRILL_RUN,
                target_type="drill",
                target_id="exposed-store",
                detail={"values_searched": report.values_searched, "findings": report.findings_total},
            )
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_table(report)
    if not report.clean:
        raise typer.Exit(1)


def _print_table(report: ExposedStoreReport) -> None:
    summary = Table(title="exposed-store drill", show_header=False)
    summary.add_column("what")
    summary.add_column("value")
    summary.add_row("data directory", report.data_dir)
    summary.add_row("bytes an attacker gets", f"{report.bytes_scanned:,} in {len(report.sources)} blob(s)")
    summary.add_row("left out (key material)", ", ".join(report.excluded))
    summary.add_row("values learned", f"{report.values_total:,} ({report.value_source})")
    summary.add_row("values searched", f"{report.values_searched:,}")
    summary.add_row("skipped (shorter than 5)", f"{report.values_skipped_short:,}")
    summary.add_row("skipped (organisation/staff names)", f"{report.values_skipped_clear:,}")
    if report.values_unreadable:
        summary.add_row("[yellow]sealed values that did not open[/]", f"{report.values_unreadable:,}")
    verdict = "[green]0[/]" if report.clean else f"[bold red]{report.values_found:,}[/]"
    summary.add_row("values found in plain text", verdict)
    summary.add_row("time", f"{report.seconds:.2f} s")
    console.print(summary)

    if report.clean:
        console.print("[green]No PII value appears in plain text in the exposed bytes.[/]")
        return
    by_place = Counter((finding.source, finding.kind) for finding in report.findings)
    places = Table(title=f"{report.findings_total:,} occurrence(s) of {report.values_found:,} value(s)")
    for column in ("file", "kind", "occurrences"):
        places.add_column(column)
    for (source, kind), count in by_place.most_common():
        places.add_row(source, kind, str(count))
    console.print(places)
    detail = Table(title=f"first {min(_FINDINGS_SHOWN, len(report.findings))} occurrence(s)")
    for column in ("file", "offset", "kind", "encoding"):
        detail.add_column(column)
    for finding in report.findings[:_FINDINGS_SHOWN]:
        detail.add_row(finding.source, str(finding.offset), finding.kind, finding.encoding)
    console.print(detail)


@drill_app.command("stolen-session")
def stolen_session(
    data_dir: DataDirOption = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Username of the agent whose session is stolen (default: the first).")
    ] = None,
    enumerate_up_to: Annotated[
        int, typer.Option("--enumerate", min=0, max=100_000, help="Case numbers CV-YYYY-000001… to try per year.")
    ] = 200,
    keep_copy: Annotated[
        Path | None,
        typer.Option("--keep-copy", file_okay=False, help="Copy the data directory here (new) and keep it to inspect."),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="table for people, json for CI.")] = (
        OutputFormat.TABLE
    ),
) -> None:
    """Play an attacker riding one agent's MFA-complete session; exit 1 unless at most 10 customers' data is
    obtained and no value is unmasked before an alert.

    Works on a temporary copy of the SQLite data directory: the suspension and audit rows stay there.

    The drill's password and TOTP secret are never shown; the report holds counts only.
    """
    settings = load_settings(data_dir, None)
    if not settings.data_dir.is_dir():
        fail(f"data directory {settings.data_dir} does not exist", code=2)
    with open_database(settings):
        pass  # Refuse an unmigrated database with the usual one-line error.
    try:
        with err_console.status("attacking a copy of the data directory with a stolen agent session…"):
            report = run_stolen_session_drill(
                settings, agent=agent, enumerate_up_to=enumerate_up_to, keep_copy=keep_copy
            )
    except DrillError as exc:
        fail(str(exc))
    if output is OutputFormat.JSON:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_stolen_session(report)
    if not report.target_met:
        raise typer.Exit(1)


def _print_stolen_session(report: StolenSessionReport) -> None:
    summary = Table(title=f"stolen-session drill (agent {report.agent}, on a copy)", show_header=False)
    summary.add_column("what")
    summary.add_column("value")
    summary.add_row("requests", ", ".join(f"{kind} {count}" for kind, count in report.requests.items()))
    summary.add_row("HTTP statuses", ", ".join(f"{code}: {count}" for code, count in sorted(report.statuses.items())))
    summary.add_row("bulk endpoints probed", ", ".join(f"{path} {code}" for path, code in report.probes.items()))
    summary.add_row("session revoked", "[green]yes[/]" if report.revoked else "[bold red]no[/]")
    summary.add_row("requests served before revocation", str(report.requests_before_revocation))
    summary.add_row("customers only listed (reference, redacted subject)", str(report.customers_listed))
    summary.add_row("customers opened (masked)", str(report.customers_opened))
    summary.add_row("customers with a value revealed", str(report.customers_revealed))
    obtained_style = "green" if report.customers_obtained <= TARGET_MAX_CUSTOMERS else "bold red"
    summary.add_row(
        f"customers whose data it obtained (target ≤ {TARGET_MAX_CUSTOMERS})",
        f"[{obtained_style}]{report.customers_obtained}[/]",
    )
    summary.add_row("step-ups asked for and not answered", str(report.step_ups_refused))
    summary.add_row("values revealed", str(report.reveals_succeeded))
    before_style = "green" if report.reveals_before_alert == 0 else "bold red"
    summary.add_row("values revealed before any alert", f"[{before_style}]{report.reveals_before_alert}[/]")
    alerts = ", ".join(f"{a['kind']} ({a['severity']})" for a in report.alerts) or "[bold red]none[/]"
    summary.add_row("alerts raised", alerts)
    summary.add_row("time", f"{report.seconds:.2f} s")
    console.print(summary)
    verdict = "[green]target met[/]" if report.target_met else "[bold red]target missed[/]"
    console.print(verdict)


def register(app: typer.Typer) -> None:
    """Add the `drill` group to the root app."""
    app.add_typer(drill_app, name="drill")
