"""`casevault redact`: redact (or audit) JSONL, CSV and Parquet exports in bulk, resumably."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from casevault.redaction.bulk import FORMATS, BulkError, BulkOptions, run_bulk

__all__ = ["register"]

EXIT_USAGE = 2
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class _RecordsColumn(ProgressColumn):
    """Records done and records per second since the bar started."""

    def render(self, task: Task) -> Text:
        records = int(task.fields.get("records", 0))
        elapsed = task.elapsed or 0.0
        rate = records / elapsed if elapsed > 0 else 0.0
        return Text(f"{records:,} records  {rate:,.0f} rec/s", style="progress.data.speed")


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_USAGE)


def _read_key(console: Console, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise _fail(console, f"cannot read key file {path}: {error.strerror}") from None
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii")) if text and len(text) % 2 == 0 else raw
    except (UnicodeDecodeError, ValueError):
        key = raw
    if len(key) < 16:
        raise _fail(console, "the key file must hold at least 16 bytes (or 32 hex characters)")
    return key


def _print_summary(console: Console, summary: dict[str, Any], report_only: bool) -> None:
    table = Table(title="redaction summary" if not report_only else "PII report (no values shown)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("records", "written", "rejected", "withheld", "committed_shards", "elapsed_seconds"):
        if key == "written" and report_only:
            continue
        table.add_row(key.replace("_", " "), f"{summary.get(key, 0):,}")
    console.print(table)
    if summary["entities"]:
        entities = Table(title="entities found")
        entities.add_column("entity type")
        entities.add_column("count", justify="right")
        for entity, count in summary["entities"].items():
            entities.add_row(entity, f"{count:,}")
        console.print(entities)
    if report_only and summary["by_field"]:
        fields = Table(title="by field")
        fields.add_column("field")
        fields.add_column("entity type")
        fields.add_column("count", justify="right")
        for name, counts in sorted(summary["by_field"].items()):
            for entity, count in sorted(counts.items()):
                fields.add_row(name, entity, f"{count:,}")
        console.print(fields)
        samples = Table(title="sample locations (line, field, character offsets)")
        samples.add_column("entity type")
        samples.add_column("locations")
        for entity, rows in sorted(summary["samples"].items()):
            where = ", ".join(f"line {r['line']} {r['field']}[{r['start']}:{r['end']}]" for r in rows)
            samples.add_row(entity, where)
        console.print(samples)
    if summary.get("rejected"):
        console.print("[yellow]rejected records are listed (line, byte offset, reason) under rejects/[/yellow]")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""

    @app.command("redact")
    def redact(
        input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="JSONL, CSV or Parquet file to process.")],
        out: Annotated[
            Path, typer.Option("--out", "-o", help="Output directory (parts, rejects, stats, manifest, summary).")
        ],
        file_format: Annotated[
            str, typer.Option("--format", help="auto (from the extension), jsonl, csv or parquet.")
        ] = "auto",
        fields: Annotated[
            list[str] | None,
            typer.Option(
                "--field",
                "-f",
                help="Field to redact: a column name or a JSON path like $.customer.notes or items[*].text. "
                "Repeat for several; default: every string field.",
            ),
        ] = None,
        workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 1,
        operator: Annotated[
            str, typer.Option("--operator", help="type (<EMAIL_ADDRESS>), mask (****) or token ([TYPE:hmac]).")
        ] = "type",
        key_file: Annotated[
            Path | None, typer.Option("--key-file", help="Key for --operator token (raw bytes or hex, >= 16 bytes).")
        ] = None,
        report_only: Annotated[
            bool,
            typer.Option("--report-only", help="Audit only: count PII per type and field, write no redacted data."),
        ] = False,
        restart: Annotated[
            bool, typer.Option("--restart", help="Discard committed shards in --out and start over.")
        ] = False,
        shard_size: Annotated[
            int | None,
            typer.Option(
                "--shard-size",
                min=1,
                help="Target shard size in bytes (text formats). Default: 64 MiB, smaller for small files so every "
                "worker gets about four shards (at least 1 MiB).",
            ),
        ] = None,
        engine: Annotated[
            str, typer.Option("--engine", help="local (worker processes) or spark (PySpark, optional extra).")
        ] = "local",
        master: Annotated[
            str, typer.Option("--master", help="Spark master for --engine spark, e.g. local[*,2] or spark://host:7077.")
        ] = "local[*]",
    ) -> None:
        """Redact PII in a JSONL, CSV or Parquet file, resumably: re-run the same command after a crash.

        Output is a directory of atomically committed shard files. Malformed records are listed by line number
        in rejects/, never with their content. A summary is printed and written to summary.json.
        """
        console = Console(stderr=True)
        chosen = _EXTENSIONS.get(input_path.suffix.lower()) if file_format == "auto" else file_format
        if chosen not in FORMATS:
            raise _fail(console, f"cannot tell the format of {input_path.name}; pass --format ({', '.join(FORMATS)})")
        if operator not in ("type", "mask", "token"):
            raise _fail(console, "--operator must be type, mask or token")
        if operator == "token" and key_file is None:
            raise _fail(console, "--operator token needs --key-file")
        options = BulkOptions(
            input=input_path,
            output=out,
            format=chosen,
            fields=tuple(fields or ()),
            workers=workers,
            operator=operator,
            key=_read_key(console, key_file),
            report_only=report_only,
            shard_bytes=shard_size,
        )
        if engine == "spark":
            _run_spark(console, options, master)
            return
        if engine != "local":
            raise _fail(console, "--engine must be local or spark")
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            _RecordsColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        task_id = None
        records = 0

        def on_plan(shards: int, total: int, already: int) -> None:
            nonlocal task_id
            if already:
                console.print(f"resuming: {already} shard(s) already committed, {shards} to do")
            task_id = progress.add_task("redacting" if not report_only else "scanning", total=max(total, 1))

        def on_progress(done: int, done_records: int) -> None:
            nonlocal records
            records += done_records
            if task_id is not None:
                progress.update(task_id, advance=done, records=records)

        began = time.perf_counter()
        try:
            with progress:
                summary = run_bulk(options, restart=restart, on_plan=on_plan, on_progress=on_progress)
        except BulkError as error:
            raise _fail(console, str(error)) from None
        summary["elapsed_seconds"] = round(time.perf_counter() - began, 2)
        _print_summary(console, summary, report_only)


def _run_spark(console: Console, options: BulkOptions, master: str) -> None:
    try:
        from casevault.redaction.bulk.spark_job import run_spark
    except ImportError:
        raise _fail(console, "--engine spark needs PySpark: pip install 'casevault[spark]'") from None
    try:
        summary = run_spark(options, master=master)
    except BulkError as error:
        raise _fail(console, str(error)) from None
    console.print(f"spark job done: {summary['records']:,} records written to {options.output}")
