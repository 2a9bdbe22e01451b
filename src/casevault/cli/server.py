"""`casevault init`, `serve` and `demo`: prepare a data directory, run the server, and the one-command demo."""

from __future__ import annotations

import ipaddress
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from fastapi import FastAPI
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from casevault.access.actor import Actor
from casevault.access.roles import Role
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
from casevault.crypto.keyring import Keyring
from casevault.crypto.models import DataKey
from casevault.crypto.providers import KeyFileError, KeyProvider, LocalKeyFile, UnwrapError
from casevault.db.migrate import SchemaOutOfDate, require_current_schema, upgrade
from casevault.db.session import Database
from casevault.demo import DemoCredential, DemoSize, issue_demo_tokens, seed_demo
from casevault.identity import IdentityContext, ProvisionedCredentials, SystemClock, provision_credentials
from casevault.identity.models import Staff, StaffStatus
from casevault.logging import LogFormat, configure_logging

__all__ = ["InitResult", "WrongKey", "build_app", "init_data_dir", "register", "require_matching_key"]

HostOption = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option("--log-format", envvar="CASEVAULT_LOG_FORMAT", help="Log lines as plain text or JSON."),
]


@dataclass(frozen=True)
class InitResult:
    """What `init` did, so the command can say it and callers can tell a fresh install from a re-run."""

    data_dir_created: bool
    key_file_created: bool
    schema_before: str | None
    schema_after: str | None


def init_data_dir(settings: Settings) -> InitResult:
    """Create the data directory (0700) and key file (0600, never overwritten), then migrate; idempotent."""
    data_dir = settings.data_dir
    data_dir_created = not data_dir.exists()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if data_dir_created:
        # mkdir's mode is filtered by the umask; the data directory must be owner-only whatever it is.
        data_dir.chmod(0o700)
    key_file = settings.resolved_key_file
    key_file_created = False
    if not key_file.exists():
        LocalKeyFile.create(key_file)
        key_file_created = True
    else:
        LocalKeyFile(key_file)  # refuses a malformed or too widely readable key file
    db = Database(settings.resolved_database_url)
    try:
        before = _current_revision(db)
        upgrade(db)
        after = _current_revision(db)
    finally:
        db.dispose()
    return InitResult(data_dir_created, key_file_created, before, after)


def _current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _run_init(settings: Settings) -> InitResult:
    try:
        return init_data_dir(settings)
    except KeyFileError as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"database unreachable ({type(exc.orig).__name__}); check --database-url / CASEVAULT_DATABASE_URL")
    except PermissionError as exc:
        fail(f"cannot write {exc.filename}: permission denied")


def _report_init(settings: Settings, result: InitResult) -> None:
    data_dir = settings.data_dir.resolve()
    console.print(f"data directory  {data_dir}" + (" [green](created)[/]" if result.data_dir_created else ""))
    key_note = "[green](created, mode 0600)[/]" if result.key_file_created else "(kept; existing key file)"
    console.print(f"key file        {settings.resolved_key_file.resolve()} {key_note}")
    if result.schema_before == result.schema_after:
        console.print(f"database schema {result.schema_after} (already current)")
    else:
        console.print(
            f"database schema {result.schema_before or 'empty'} -> {result.schema_after} [green](migrated)[/]"
        )
    if _data_dir_too_open(data_dir):
        err_console.print(f"[yellow]warning:[/] {data_dir} is accessible by other users; run `chmod 700 {data_dir}`")


def _data_dir_too_open(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def build_app(settings: Settings) -> FastAPI:
    """create_app() with start-up refusals turned into one-line errors (exit 1, nothing listening)."""
    from casevault.app import StartupError, create_app

    db: Database | None = None
    try:
        provider = LocalKeyFile(settings.resolved_key_file)
        db = Database(settings.resolved_database_url)
        require_current_schema(db)
        require_matching_key(db, provider)
        return create_app(settings, database=db, key_provider=provider)
    except (KeyFileError, SchemaOutOfDate, StartupError, WrongKey) as exc:
        if db is not None:
            db.dispose()
        fail(f"refusing to start: {exc}")
    except OperationalError as exc:
        if db is not None:
            db.dispose()
        fail(
            f"refusing to start: database unreachable ({type(exc.orig).__name__}); "
            "check --database-url / CASEVAULT_DATABASE_URL"
        )


class WrongKey(RuntimeError):
    """The key provider cannot open the database's data keys: it is not the key the data was sealed with."""


def require_matching_key(db: Database, provider: KeyProvider) -> None:
    """Unwrap one stored data key with `provider`, so a wrong key file stops start-up instead of every request."""
    with db.sessions() as session:
        sample = session.scalars(select(DataKey).limit(1)).first()
        if sample is None:
            return
        try:
            Keyring(provider).for_owner(session, sample.owner_id)
        except UnwrapError as exc:
            raise WrongKey(
                f"the key file (key id {provider.key_id}) is not the key this database was sealed with "
                f"(data keys wrapped by key id {sample.kek_id}); use the data directory's own key file"
            ) from exc


def _run_uvicorn(app: FastAPI, settings: Settings, log_format: LogFormat) -> None:
    import uvicorn

    configure_logging(log_format=log_format, log_dir=settings.data_dir / "logs")
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,  # raw paths and queries can carry emails; the middleware logs route templates
        log_config=None,  # keep the PII-safe handlers configured above
        server_header=False,
        proxy_headers=False,
    )
    uvicorn.Server(config).run()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def init(data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None) -> None:
    """Create the data directory, the local key file and the database schema (safe to run again)."""
    settings = load_settings(data_dir, database_url)
    _report_init(settings, _run_init(settings))


def serve(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    log_format: LogFormatOption = LogFormat.PLAIN,
) -> None:
    """Run the API server. Refuses to start on a missing or unsafe key file or an unmigrated database."""
    # Plain HTTP on loopback is the only case where cookies may go without the Secure flag.
    settings = load_settings(data_dir, database_url, host=host, port=port, cookie_secure=not _is_loopback(host))
    app = build_app(settings)
    _run_uvicorn(app, settings, log_format)


def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its SQLite file, key file and logs.")
    ] = Path("demo-data"),
    port: PortOption = 8000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")] = 2026,
    cases: Annotated[int, typer.Option("--cases", min=1, max=100_000, help="How many cases to seed.")] = 2000,
    customers: Annotated[int, typer.Option("--customers", min=1, max=10_000, help="How many customers.")] = 240,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server after seeding (default) or just seed.")
    ] = True,
    log_format: LogFormatOption = LogFormat.PLAIN,
) -> None:
    """The embedded demo: init, seed realistic cases full of PII if empty, print how to sign in, then serve."""
    # The demo is SQLite in its own directory by design; an exported CASEVAULT_DATABASE_URL must not redirect it.
    settings = Settings(
        data_dir=data_dir, database_url=None, demo=True, host="127.0.0.1", port=port, cookie_secure=False
    )
    result = _run_init(settings)
    if result.data_dir_created or result.key_file_created:
        _report_init(settings, result)
    keyring = open_keyring(settings)
    with open_database(settings) as db:
        if _customer_count(db) == 0:
            size = DemoSize(organizations=min(90, customers), customers=customers, cases=cases)
            _seed_with_progress(db, keyring, seed, size)
        credentials = _issue_demo_credentials(db)
        sign_in = _provision_demo_sign_in(db, settings, keyring)
    _print_sign_in(settings, credentials, sign_in)
    if serve_after:
        _run_uvicorn(build_app(settings), settings, log_format)


def _customer_count(db: Database) -> int:
    from casevault.cases.models import Customer

    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def _seed_with_progress(db: Database, keyring: Keyring, seed: int, size: DemoSize) -> None:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task("seeding demo data", total=size.cases)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = seed_demo(db, keyring, size=size, seed=seed, progress=advance)
    console.print(
        f"seeded {summary.customers} customers in {summary.countries} countries and {summary.sectors} sectors, "
        f"{summary.cases} cases, {summary.notes} notes, {summary.staff} staff in {summary.queues} queues "
        f"({summary.seconds:.1f} s)"
    )


def _issue_demo_credentials(db: Database) -> list[DemoCredential]:
    with db.unit_of_work() as session:
        return issue_demo_tokens(session)


@dataclass(frozen=True)
class DemoSignIn:
    """The shared demo password and each user's TOTP secret, printed once per demo start."""

    password: str = field(repr=False)
    totp: dict[str, ProvisionedCredentials] = field(repr=False)


def _provision_demo_sign_in(db: Database, settings: Settings, keyring: Keyring) -> DemoSignIn:
    """A fresh password (shared by the demo users) and TOTP factor for every active staff member."""
    password = "demo-" + secrets.token_urlsafe(12)
    ctx = IdentityContext(settings=settings, keyring=keyring, clock=SystemClock())
    totp: dict[str, ProvisionedCredentials] = {}
    with db.unit_of_work() as session:
        members = session.scalars(select(Staff).where(Staff.status == StaffStatus.ACTIVE)).all()
        with err_console.status("setting demo passwords (argon2id, about half a second each)"):
            for member in members:
                totp[member.username] = provision_credentials(
                    session, member, password=password, actor=Actor.system("demo"), ctx=ctx
                )
    return DemoSignIn(password=password, totp=totp)


def _print_sign_in(settings: Settings, credentials: list[DemoCredential], sign_in: DemoSignIn) -> None:
    # Passkeys (WebAuthn) need a host name, not an IP address, so the demo is announced on localhost.
    url = f"http://localhost:{settings.port}"
    console.print()
    console.print(f"[bold]casevault demo[/] at {url}  (API {url}/api/v1, docs {url}/api/v1/docs)", soft_wrap=True)
    table = Table(title="demo staff")
    for column in ("username", "name", "role"):
        table.add_column(column)
    for credential in credentials:
        table.add_row(credential.username, credential.display_name, str(credential.role))
    console.print(table)
    console.print(f"sign in at {url} with password {sign_in.password} (every demo user), then the TOTP code.")
    console.print(
        "TOTP secrets (add one to an authenticator app, or run "
        "`python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"`; each code works once):",
        soft_wrap=True,
        highlight=False,
    )
    for username, enrolled in sorted(sign_in.totp.items()):
        console.print(f"  {username:<8} totp {enrolled.totp_secret}", soft_wrap=True, highlight=False)
    console.print("API tokens (valid 24 h, shown once; each start of the demo issues a new set):")
    for credential in credentials:
        # soft_wrap: a token must stay on one line to be copied.
        console.print(f"  {credential.username:<8} {credential.token}", soft_wrap=True, highlight=False)
    agent = next((c for c in credentials if c.role == Role.AGENT), None)
    if agent is not None:
        console.print(
            f'try:  curl -H "Authorization: Bearer {agent.token}" {url}/api/v1/cases', soft_wrap=True, highlight=False
        )
    console.print(f"data directory {settings.data_dir.resolve()}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add init, serve and demo to the root app."""
    app.command("init")(init)
    app.command("serve")(serve)
    app.command("demo")(demo)
