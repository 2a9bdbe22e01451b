"""Shared CLI plumbing: options, settings, opening the database and keys, and clean error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from casevault.config import Settings
from casevault.crypto.keyring import Keyring
from casevault.crypto.providers import KeyFileError, LocalKeyFile
from casevault.db.migrate import SchemaOutOfDate, require_current_schema
from casevault.db.session import Database

__all__ = [
    "DataDirOption",
    "DatabaseUrlOption",
    "console",
    "err_console",
    "fail",
    "load_settings",
    "open_database",
    "open_keyring",
]

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (SQLite file, key file, logs). Default: $CASEVAULT_DATA_DIR or ./.casevault",
        show_default=False,
    ),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://app@db/casevault. Default: $CASEVAULT_DATABASE_URL "
        "or the SQLite file in the data directory.",
        show_default=False,
        envvar="CASEVAULT_DATABASE_URL",
    ),
]


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print a one-line error (no traceback) and exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def load_settings(data_dir: Path | None = None, database_url: str | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with command-line options taking precedence."""
    values: dict[str, object] = {key: value for key, value in overrides.items() if value is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    if database_url is not None:
        values["database_url"] = database_url
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        fail(f"invalid settings: {exc}", code=2)


@contextmanager
def open_database(settings: Settings, *, check_schema: bool = True) -> Iterator[Database]:
    """The configured database; exits cleanly if it is unreachable or not migrated."""
    db = Database(settings.resolved_database_url)
    try:
        if check_schema:
            require_current_schema(db)
        yield db
    except SchemaOutOfDate as exc:
        fail(str(exc))
    except OperationalError as exc:
        # The driver message can include the URL; name only the exception type.
        fail(f"database unreachable ({type(exc.orig).__name__}); check --database-url / CASEVAULT_DATABASE_URL")
    finally:
        db.dispose()


def open_keyring(settings: Settings) -> Keyring:
    """The keyring over the configured key provider; exits cleanly on a missing or unsafe key file."""
    try:
        return Keyring(LocalKeyFile(settings.resolved_key_file))
    except KeyFileError as exc:
        fail(str(exc))
