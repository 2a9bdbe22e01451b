"""Shared fixtures: real SQLite and real PostgreSQL databases (created and dropped per test), keys, app client."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from casevault.app import create_app
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.db.migrate import upgrade

PG_ADMIN_DSN = os.environ.get("CASEVAULT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_PG_HINT = (
    "PostgreSQL is not reachable on 127.0.0.1:5432; start it with "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
)


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _sqlalchemy_url(dsn_database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{dsn_database}"


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test clones it (CREATE DATABASE … TEMPLATE is ~10× faster)."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(_PG_HINT)
        pytest.skip(_PG_HINT)
    name = f"cv_tpl_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    db = Database(_sqlalchemy_url(name))
    try:
        upgrade(db)
    finally:
        db.dispose()
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@contextmanager
def _clone_of(template: str) -> Iterator[str]:
    name = f"cv_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _sqlalchemy_url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, migrated PostgreSQL database, dropped after the test."""
    with _clone_of(request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """Like `pg_database`, shared by one module's tests (a seeded world they all read), dropped after it."""
    with _clone_of(request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> str:
    """The URL of a fresh, migrated SQLite file."""
    target = tmp_path / "casevault.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_database" if request.param == "sqlite" else "pg_database"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def key_provider(tmp_path: Path) -> LocalKeyFile:
    return LocalKeyFile.create(tmp_path / "keys" / "master.key")


@pytest.fixture
def keyring(key_provider: LocalKeyFile) -> Keyring:
    return Keyring(key_provider)


@pytest.fixture
def settings(tmp_path: Path, key_provider: LocalKeyFile) -> Settings:
    return Settings(data_dir=tmp_path, key_file=tmp_path / "keys" / "master.key", cookie_secure=False)


@pytest.fixture
def make_client(settings: Settings, db: Database, key_provider: LocalKeyFile) -> Callable[..., TestClient]:
    """Builds a TestClient over the real ASGI app; extra keyword arguments override settings."""

    def build(**overrides: object) -> TestClient:
        app_settings = settings.model_copy(update=overrides) if overrides else settings
        app = create_app(app_settings, database=db, key_provider=key_provider)
        return TestClient(app, raise_server_exceptions=False)

    return build


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> Iterator[TestClient]:
    with make_client() as test_client:
        yield test_client
