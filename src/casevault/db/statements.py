"""Fixed statements for the request hot path: compiled once, run straight on the driver on PostgreSQL.

An ORM query costs the server 5-6x the CPU of the same statement sent by the driver (building the expression,
its cache key, the ORM execution and loading machinery; docs/bench/api.md). A `FixedStatement` is an ordinary
SQLAlchemy Core statement with named `bindparam()`s, built once at import time. On PostgreSQL it is compiled
once per dialect and executed on the session's own psycopg connection, inside the same transaction, with
SQLAlchemy's own bind and result processors applied, so callers get the values an ORM query would give. Elsewhere
(SQLite) it runs through SQLAlchemy Core unchanged. See docs/adr/0456-fixed-statements-on-the-hot-path.md.

Given a Session it flushes pending ORM changes first, as an ORM query would (autoflush); given the session's
Connection it does not, like a Core statement. It never passes through ORM events, so it is not for the audit
tables, whose ORM queries chain the staged events first (audit/trail.py). `loaded` turns a row of an entity's
columns into the session's object for it, as an ORM query would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from casevault.db.base import Base

__all__ = ["FixedStatement", "loaded", "run_together"]

_Entity = TypeVar("_Entity", bound=Base)

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]
    bind: tuple[tuple[str, Callable[[Any], Any]], ...]
    result: tuple[_Processor, ...]
    any_result: bool

    def values(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The driver's parameters: the statement's fixed values, then the caller's, through the bind processors."""
        values = {**self.defaults, **params} if params else dict(self.defaults)
        for name, processor in self.bind:
            if name in values:
                values[name] = processor(values[name])
        return values


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    if not isinstance(statement, ClauseElement):
        raise TypeError("a fixed statement is a Core statement")
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("a fixed statement cannot expand parameters at execution time (IN lists, literals)")
    if compiled.positional:
        raise ValueError("fixed statements need a dialect with named parameters")
    # Values fixed in the statement (literals SQLAlchemy turned into parameters); named ones come with each call.
    defaults = {name: bind.effective_value for bind, name in compiled.bind_names.items() if not bind.required}
    bind: list[tuple[str, Callable[[Any], Any]]] = []
    for name, processor in compiled._bind_processors.items():
        if processor is None:
            continue
        if not callable(processor):
            raise ValueError("fixed statements take no tuple parameters")
        bind.append((name, cast(Callable[[Any], Any], processor)))
    result = tuple(
        column[3]._cached_result_processor(dialect, None)  # (keyname, name, objects, type)
        for column in compiled._result_columns
    )
    return _Compiled(compiled.string, defaults, tuple(bind), result, any(processor is not None for processor in result))


class FixedStatement:
    """A Core statement with named bind parameters, compiled once and run cheaply on every call."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return found

    def rows(self, target: Session | Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run the statement in the session's (or connection's) transaction and return every row as a tuple."""
        if isinstance(target, Session):
            if target.autoflush:
                target.flush()
            connection = target.connection()
        else:
            connection = target
        if connection.dialect.name != "postgresql":
            result = connection.execute(self.statement, dict(params or {}))
            return [tuple(row) for row in result] if result.returns_rows else []
        compiled = self._for(connection.dialect)
        values = compiled.values(params)
        raw: Any = connection.connection.dbapi_connection
        with raw.cursor() as cursor:
            cursor.execute(compiled.sql, values)
            fetched: Sequence[tuple[Any, ...]] = cursor.fetchall() if cursor.description is not None else []
        if not compiled.any_result:
            return list(fetched)
        return [
            tuple(
                value if processor is None else processor(value)
                for processor, value in zip(compiled.result, row, strict=True)
            )
            for row in fetched
        ]

    def first(self, target: Session | Connection, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        """The first row, or None."""
        found = self.rows(target, params)
        return found[0] if found else None

    def run(self, target: Session | Connection, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement whose result is not needed (an UPDATE, a set_config)."""
        self.rows(target, params)

    def __repr__(self) -> str:
        return f"FixedStatement({type(self.statement).__name__})"


def run_together(connection: Connection, steps: Sequence[tuple[FixedStatement, Mapping[str, Any]]]) -> None:
    """Run statements whose results are not needed, in order, on one cursor.

    Not a psycopg pipeline: on loopback its machinery costs more CPU and time than the round trips it saves
    (measured in docs/bench/api.md, 2026-11-22 evening).
    """
    if connection.dialect.name != "postgresql":
        for statement, params in steps:
            statement.run(connection, params)
        return
    raw: Any = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        for statement, params in steps:
            compiled = statement._for(connection.dialect)
            cursor.execute(compiled.sql, compiled.values(params))


def loaded(session: Session, model: type[_Entity], keys: Sequence[str], values: Sequence[Any]) -> _Entity:
    """The session's object for a row of `model` (`keys`: all its column attributes; `values`: the row), as an ORM
    query gives it: the object the session already holds, its unloaded attributes filled from the row and its
    changes kept; else a new persistent object with the row's values and no history.

    Never a second copy of a row the session holds, so nothing is flushed twice or from stale values.
    """
    row = dict(zip(keys, values, strict=True))
    mapper, primary_key = _identity_of(model)
    found = session.identity_map.get(mapper.identity_key_from_primary_key(tuple(row[name] for name in primary_key)))
    if found is not None:
        for name in instance_state(found).expired_attributes & row.keys():
            set_committed_value(found, name, row[name])
        return cast(_Entity, found)
    # As the ORM's loader builds a loaded object: no constructor, the row's values straight into its dict.
    instance = cast(_Entity, mapper.class_manager.new_instance())
    instance.__dict__.update(row)
    make_transient_to_detached(instance)  # every column is set: none is left expired
    session.add(instance)
    return instance


_IDENTITIES: dict[type[Base], tuple[Mapper[Any], tuple[str, ...]]] = {}


def _identity_of(model: type[Base]) -> tuple[Mapper[Any], tuple[str, ...]]:
    found = _IDENTITIES.get(model)
    if found is None:
        mapper = inspect(model)
        found = _IDENTITIES[model] = (
            mapper,
            tuple(mapper.get_property_by_column(column).key for column in mapper.primary_key),
        )
    return found
