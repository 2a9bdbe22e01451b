"""`casevault init`, `serve` and `demo`: prepare a data directory, run the server, and the one-command demo."""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import secrets
import socket
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from fastapi import FastAPI
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.access.serving_role import ServingRoleError, ensure_serving_role, serving_role_problem, serving_url
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
from casevault.crypto.providers import KeyFileError, LocalKeyFile
from casevault.db.migrate import SchemaOutOfDate, upgrade
from casevault.db.session import Database
from casevault.demo import DemoCredential, DemoSize, issue_demo_tokens, seed_demo
from casevault.identity import IdentityContext, ProvisionedCredentials, SystemClock, provision_credentials
from casevault.identity.models import Staff, StaffStatus
from casevault.logging import LogFormat, configure_logging

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "InitResult",
    "StartupRefused",
    "build_app",
    "checked_app",
    "init_data_dir",
    "register",
    "worker_app",
]

log = logging.getLogger("casevault.server")

_LOG_FORMAT_ENV = "CASEVAULT_LOG_FORMAT"
HostOption = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option("--log-format", envvar=_LOG_FORMAT_ENV, help="Log lines as plain text or JSON."),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        max=64,
        envvar="CASEVAULT_WORKERS",
        help="Server processes sharing the port (PostgreSQL only; each loads the settings and key file and "
        "applies the same start-up checks). 1 (the default) serves from this process.",
    ),
]


@dataclass(frozen=True)
class InitResult:
    """What `init` did, so the command can say it and callers can tell a fresh install from a re-run."""

    data_dir_created: bool
    key_file_created: bool
    schema_before: str | None
    schema_after: str | None
    serving_url: str | None = None  # `--serving-role`: the URL to serve with (PostgreSQL), without a password
    serving_role_created: bool = False


def init_data_dir(settings: Settings, *, serving_role: str | None = None) -> InitResult:
    """Create the data directory (0700) and key file (0600, never overwritten), then migrate; idempotent.

    `serving_role` (PostgreSQL): also create that login role inside `casevault_app` unless it exists, the role
    `serve` connects as (the migrating role may not: access/serving_role.py).
    """
    url = settings.resolved_database_url
    if serving_role is not None and not url.startswith("postgresql"):
        raise ServingRoleError("--serving-role needs PostgreSQL (--database-url / CASEVAULT_DATABASE_URL)")
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
    db = Database(url)
    created = False
    try:
        before = _current_revision(db)
        upgrade(db)
        after = _current_revision(db)
        if serving_role is not None:
            with db.engine.begin() as connection:
                created = ensure_serving_role(connection, serving_role)
    finally:
        db.dispose()
    serving = None if serving_role is None else serving_url(url, serving_role)
    return InitResult(data_dir_created, key_file_created, before, after, serving, created)


def _current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _run_init(settings: Settings, serving_role: str | None = None) -> InitResult:
    try:
        return init_data_dir(settings, serving_role=serving_role)
    except (KeyFileError, ServingRoleError) as exc:
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
    if result.serving_url is not None:
        role_note = "[green](created)[/]" if result.serving_role_created else "(kept; existing role)"
        console.print(f"serving role    {make_url(result.serving_url).username} {role_note}")
        console.print(f"serve with      CASEVAULT_DATABASE_URL={result.serving_url}  (give the role a password)")
    if _data_dir_too_open(data_dir):
        err_console.print(f"[yellow]warning:[/] {data_dir} is accessible by other users; run `chmod 700 {data_dir}`")


def _data_dir_too_open(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


class StartupRefused(RuntimeError):
    """The server must not start; the message says what to fix and carries no secret."""


def checked_app(settings: Settings) -> FastAPI:
    """create_app() (which refuses a wrong key, an old schema, bad policies) as one StartupRefused for the CLI."""
    from casevault.app import StartupError, create_app

    db: Database | None = None
    try:
        provider = LocalKeyFile(settings.resolved_key_file)
        db = Database(settings.resolved_database_url)
        app = create_app(settings, database=db, key_provider=provider)
        if db.dialect == "postgresql":
            with db.engine.connect() as connection:
                problem = serving_role_problem(connection)
            if problem is not None:
                raise StartupError(f"{problem}; serve as a login role inside casevault_app (see `init --help`)")
        return app
    except (KeyFileError, SchemaOutOfDate, StartupError) as exc:
        if db is not None:
            db.dispose()
        raise StartupRefused(str(exc)) from None
    except OperationalError as exc:
        if db is not None:
            db.dispose()
        raise StartupRefused(
            f"database unreachable ({type(exc.orig).__name__}); check --database-url / CASEVAULT_DATABASE_URL"
        ) from None


def build_app(settings: Settings) -> FastAPI:
    """checked_app() with start-up refusals turned into one-line errors (exit 1, nothing listening)."""
    try:
        return checked_app(settings)
    except StartupRefused as exc:
        fail(f"refusing to start: {exc}")


def _run_uvicorn(app: FastAPI, settings: Settings, log_format: LogFormat) -> None:
    import uvicorn

    configure_logging(log_format=log_format, log_dir=settings.data_dir / "logs")
    uvicorn.Server(_uvicorn_config(app, settings)).run()


def _uvicorn_config(app: FastAPI | str, settings: Settings, *, workers: int | None = None) -> uvicorn.Config:
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        factory=isinstance(app, str),
        workers=workers,
        access_log=False,  # raw paths and queries can carry emails; the middleware logs route templates
        log_config=None,  # keep the PII-safe handlers configure_logging() set up
        server_header=False,
        proxy_headers=False,
    )


def _run_workers(settings: Settings, log_format: LogFormat, workers: int) -> None:
    """`workers` uvicorn processes on one socket, each building its app with worker_app() from the environment.

    The checks ran here first (build_app), so a refusal stops start-up before anything listens; each worker
    repeats them, and a worker refused at start-up exits with uvicorn's STARTUP_FAILURE, which stops the parent
    instead of restarting the worker forever.
    """
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    # Spawned workers read their settings exactly as this process did, from CASEVAULT_* variables.
    os.environ["CASEVAULT_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url is not None:
        os.environ["CASEVAULT_DATABASE_URL"] = settings.database_url.get_secret_value()
    if settings.key_file is not None:
        os.environ["CASEVAULT_KEY_FILE"] = str(settings.key_file)
    os.environ["CASEVAULT_HOST"] = settings.host
    os.environ["CASEVAULT_PORT"] = str(settings.port)
    os.environ["CASEVAULT_COOKIE_SECURE"] = "true" if settings.cookie_secure else "false"
    os.environ[_LOG_FORMAT_ENV] = str(log_format)
    configure_logging(log_format=log_format, log_dir=settings.data_dir / "logs")
    config = _uvicorn_config("casevault.cli.server:worker_app", settings, workers=workers)
    try:
        listening = _listening_socket(settings.host, settings.port)
    except OSError as exc:
        fail(f"refusing to start: cannot listen on {settings.host}:{settings.port} ({exc.strerror})")
    log.info("listening on http://%s:%d with %d worker processes", settings.host, settings.port, workers)
    # As `uvicorn --workers`: the socket is bound here and shared; dead workers are replaced, refused ones stop all.
    supervisor = Multiprocess(config, sockets=[listening])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        fail("refusing to start: a worker failed its start-up checks (see the log above)")


def _listening_socket(host: str, port: int) -> socket.socket:
    """The shared listening socket, as uvicorn's Config.bind_socket() makes it but created as IPPROTO_TCP.

    asyncio sets TCP_NODELAY only on connections whose socket says it is TCP; uvicorn's own (protocol 0) leaves
    Nagle's algorithm on, and then every response written in two parts waits ~40 ms for the client's delayed ACK.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


# Held open for the worker's lifetime: the lock on it reserves the worker's log file slot.
_SLOT_LOCK: list[int] = []


def _worker_log_name(log_dir: Path) -> str:
    """One log file per worker slot, so no two processes ever rotate the same file (rotation is per process)."""
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    slot = 0
    while True:
        descriptor = os.open(log_dir / f".worker-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            slot += 1
            continue
        _SLOT_LOCK.append(descriptor)
        return f"casevault-worker-{slot}.log"


def worker_app() -> FastAPI:
    """The app of one `serve --workers N` process (a uvicorn factory): same settings, key file and refusals."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        settings = Settings()
    except ValueError:
        sys.stderr.write("refusing to start: invalid settings in the worker's environment\n")
        sys.exit(STARTUP_FAILURE)
    log_dir = settings.data_dir / "logs"
    configure_logging(
        log_format=LogFormat(os.environ.get(_LOG_FORMAT_ENV, LogFormat.PLAIN)),
        log_dir=log_dir,
        file_name=_worker_log_name(log_dir),
    )
    try:
        return checked_app(settings)
    except StartupRefused as exc:
        log.error("refusing to start: %s", exc)
        sys.exit(STARTUP_FAILURE)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def init(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    serving_role: Annotated[
        str | None,
        typer.Option(
            "--serving-role",
            help="PostgreSQL: also create this login role inside casevault_app (unless it exists) and print the "
            "URL to serve with. `serve` refuses a superuser, BYPASSRLS or schema-owning role: row-level security "
            "would not bind it.",
        ),
    ] = None,
) -> None:
    """Create the data directory, the local key file and the database schema (safe to run again).

    On PostgreSQL run it as the role that owns the schema; the server then connects as a login role inside
    casevault_app (`--serving-role`).
    """
    settings = load_settings(data_dir, database_url)
    _report_init(settings, _run_init(settings, serving_role))


def serve(
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    log_format: LogFormatOption = LogFormat.PLAIN,
    workers: WorkersOption = 1,
) -> None:
    """Run the API server. Refuses to start on a missing or unsafe key file or an unmigrated database."""
    # Plain HTTP on loopback is the only case where cookies may go without the Secure flag.
    settings = load_settings(data_dir, database_url, host=host, port=port, cookie_secure=not _is_loopback(host))
    app = build_app(settings)
    if workers == 1:
        _run_uvicorn(app, settings, log_format)
        return
    db: Database = app.state.runtime.db
    dialect = db.dialect
    db.dispose()
    if dialect != "postgresql":
        # Every request appends to the audit chain, and SQLite has one writer: processes would only queue.
        fail("--workers above 1 needs PostgreSQL (CASEVAULT_DATABASE_URL); the embedded SQLite store serves from one")
    _run_workers(settings, log_format, workers)


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
