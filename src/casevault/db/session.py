"""Engine and session factory; one Database per app or CLI command, never a module-level global."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL + synchronous=FULL: a committed write survives kill -9 and power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# libpq's CONNECTION_OK (psycopg.pq.ConnStatus.OK); a literal so SQLite-only installs need not import psycopg.
_PG_CONNECTION_OK = 0


def _postgresql_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Checkout check without a round trip: an idle connection the server has closed is readable (EOF, or the
    FATAL message a terminated backend sends) or already marked bad; the pool then replaces it.

    It replaces `pool_pre_ping`, whose `SELECT` cost every request a round trip (ADR 0459). A spurious hit (an
    unexpected message on an idle connection) only costs a reconnect.
    """
    try:
        if dbapi_connection.closed or dbapi_connection.pgconn.status != _PG_CONNECTION_OK:
            raise DisconnectionError("connection closed")
        poller = select.poll()
        poller.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        if poller.poll(0):
            raise DisconnectionError("server closed the idle connection")
    except DisconnectionError:
        raise
    except Exception as exc:  # a connection whose state cannot even be read is not one to use
        raise DisconnectionError("connection state unreadable") from exc


class Database:
    """Owns the engine and hands out units of work; only the unit of work commits."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            kwargs["pool_size"] = 10
        self.engine: Engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "checkout", _postgresql_alive)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        # The URL may carry a password: show only the dialect.
        return f"Database(dialect={self.dialect!r})"
