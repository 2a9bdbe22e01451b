"""`casevault scan`: find exposed data stores in configuration files, live endpoints and casevault itself."""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from casevault.exposure import (
    Finding,
    ProbeKind,
    ProbeSpec,
    Scanner,
    Severity,
    Webhook,
    parse_target,
    print_table,
    probe,
    self_check,
    to_json,
    to_sarif,
    watch,
)
from casevault.exposure.findings import sort_findings
from casevault.exposure.probes import ProbeError
from casevault.exposure.scanner import iter_files
from casevault.exposure.watch import json_lines_emitter

FORMATS = ("table", "json", "sarif")
EXIT_FINDINGS = 1
EXIT_USAGE = 2


def _usage_error(console: Console, message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_USAGE)


def _probe_specs(console: Console, targets: list[str], kinds: list[str]) -> list[ProbeSpec]:
    if kinds and len(kinds) not in {1, len(targets)}:
        raise _usage_error(console, "give --probe-kind once (for every probe) or once per --probe")
    specs: list[ProbeSpec] = []
    for index, target in enumerate(targets):
        try:
            parse_target(target)
        except ProbeError as error:
            raise _usage_error(console, str(error)) from None
        kind_text = kinds[0] if len(kinds) == 1 else (kinds[index] if kinds else None)
        if kind_text is None or kind_text == "auto":
            specs.append(ProbeSpec(target))
            continue
        try:
            specs.append(ProbeSpec(target, ProbeKind(kind_text.lower())))
        except ValueError:
            choices = ", ".join(kind.value for kind in ProbeKind)
            raise _usage_error(console, f"unknown probe kind {kind_text!r}; choose from auto, {choices}") from None
    return specs


def _scan_files(
    paths: list[Path], scanner: Scanner, console: Console, show_progress: bool
) -> tuple[list[Finding], int]:
    if not show_progress:
        result = scanner.scan(paths)
        return result.findings, result.files_seen
    total = sum(1 for _ in iter_files(paths))
    with Progress(
        SpinnerColumn(),
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("scan", total=total)
        result = scanner.scan(paths, on_file=lambda _path: progress.advance(task))
    return result.findings, result.files_seen


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def scan_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or directories to check (Terraform, Kubernetes, Helm values, compose, store configs)."
        ),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="Output: table, json or sarif.")] = "table",
    fail_on: Annotated[
        str, typer.Option("--fail-on", help="Exit 1 when a finding is at or above: info, low, medium, high, critical.")
    ] = "high",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    probes: Annotated[
        list[str] | None,
        typer.Option("--probe", help="Live-probe HOST:PORT (repeatable; loopback or hosts you own only)."),
    ] = None,
    probe_kinds: Annotated[
        list[str] | None,
        typer.Option(
            "--probe-kind",
            help="auto, redis, memcached, postgres, mysql, rabbitmq, elasticsearch, kibana, "
            "couchdb, mongodb or s3; once for all probes or once per --probe.",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed for every probe connection.")] = 3.0,
    self_mode: Annotated[
        bool, typer.Option("--self", help="Check this casevault installation's own settings.")
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="casevault data directory whose key files --self checks.")
    ] = None,
    watch_mode: Annotated[
        bool, typer.Option("--watch", help="Keep scanning; print only new and resolved findings as JSON lines.")
    ] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between watch passes.")] = 30.0,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST watch events as JSON to this URL (no redirects followed).")
    ] = None,
    events_file: Annotated[
        Path | None, typer.Option("--events-file", help="Also append watch events (JSON lines) to this file.")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Processes for large trees (0 = one per CPU).")] = 0,
    max_cycles: Annotated[int | None, typer.Option("--max-cycles", hidden=True)] = None,
) -> None:
    """Scan configuration files and live endpoints for exposed, unauthenticated data stores.

    Exits 1 when a finding reaches --fail-on (default high), 2 on bad usage, 0 otherwise.
    """
    err = Console(stderr=True)
    paths = list(paths or [])
    if output_format not in FORMATS:
        raise _usage_error(err, f"unknown --format {output_format!r}; choose from {', '.join(FORMATS)}")
    try:
        threshold = Severity.parse(fail_on)
    except ValueError as error:
        raise _usage_error(err, str(error)) from None
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise _usage_error(err, f"no such file or directory: {', '.join(missing)}")
    specs = _probe_specs(err, list(probes or []), list(probe_kinds or []))
    if not paths and not specs and not self_mode:
        raise _usage_error(err, "give at least one PATH, --probe HOST:PORT or --self (see --help)")
    if timeout <= 0 or interval <= 0 or jobs < 0:
        raise _usage_error(err, "--timeout and --interval must be positive, --jobs zero or more")
    base = paths[0] if len(paths) == 1 and paths[0].is_dir() else Path.cwd()
    scanner = Scanner(base=base, workers=jobs or (os.cpu_count() or 1))

    if watch_mode:
        _run_watch(err, paths, specs, scanner, interval, timeout, webhook, events_file, max_cycles)
        return

    findings: list[Finding] = []
    files_seen: int | None = None
    if paths:
        show_progress = output_format == "table" and output is None and err.is_terminal
        file_findings, files_seen = _scan_files(paths, scanner, err, show_progress)
        findings.extend(file_findings)
    for spec in specs:
        result = probe(spec.target, spec.kind, timeout=timeout)
        if not result.findings:
            err.print(f"probe {result.target}: {result.kind or 'unknown'} - {result.detail}")
        findings.extend(result.findings)
    if self_mode:
        findings.extend(self_check(env=dict(os.environ), data_dir=data_dir, timeout=timeout))
    findings = sort_findings(findings)

    if output_format == "json":
        _write(to_json(findings, files_seen=files_seen), output)
    elif output_format == "sarif":
        _write(json.dumps(to_sarif(findings), indent=2), output)
    elif output is None:
        print_table(findings, Console(), files_seen=files_seen)
    else:
        with output.open("w", encoding="utf-8") as handle:
            print_table(findings, Console(file=handle, width=160), files_seen=files_seen)
    if any(finding.severity.rank >= threshold.rank for finding in findings):
        raise typer.Exit(EXIT_FINDINGS)


def _run_watch(
    err: Console,
    paths: list[Path],
    specs: list[ProbeSpec],
    scanner: Scanner,
    interval: float,
    timeout: float,
    webhook_url: str | None,
    events_file: Path | None,
    max_cycles: int | None,
) -> None:
    with ExitStack() as stack:
        streams: list[TextIO] = [sys.stdout]
        if events_file is not None:
            streams.append(stack.enter_context(events_file.open("a", encoding="utf-8")))
        hook = None
        if webhook_url is not None:
            try:
                hook = Webhook(webhook_url, timeout=timeout)
            except ValueError as error:
                raise _usage_error(err, str(error)) from None
            stack.callback(hook.close)
        err.print(f"watching {len(paths)} paths and {len(specs)} probes every {interval:g}s (Ctrl-C to stop)")
        try:
            watch(
                paths,
                specs,
                interval=interval,
                emit=json_lines_emitter(*streams, webhook=hook),
                scanner=scanner,
                timeout=timeout,
                max_cycles=max_cycles,
            )
        except KeyboardInterrupt:
            err.print("stopped")


def register(app: typer.Typer) -> None:
    """Add `casevault scan` to the root app."""
    app.command(
        "scan",
        help="Find exposed, unauthenticated data stores: config files (Terraform, Kubernetes, Helm, compose, "
        "store configs), live probes (--probe), casevault itself (--self), continuously (--watch).",
    )(scan_command)
