"""Case numbers stay unique under concurrent writers; migration 0003 matches the models on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select

import casevault.models  # noqa: F401  (registers every table)
from casevault.access.actor import Actor
from casevault.audit import AuditEvent
from casevault.audit.verify import verify
from casevault.cases import search, services
from casevault.cases.models import CaseSearchDocument
from casevault.cases.services import allocate_case_number
from casevault.crypto import Keyring
from casevault.db import Base, Database

WORKERS = 6
PER_WORKER = 10
CASE_WRITERS = 4
CASES_PER_WRITER = 4


def test_concurrent_allocations_never_repeat_or_burn_a_number(db: Database, keyring: Keyring) -> None:
    def allocate_many(_: int) -> list[str]:
        numbers = []
        for _ in range(PER_WORKER):
            with db.unit_of_work() as session:
                numbers.append(allocate_case_number(session, 2031))
        return numbers

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = [number for batch in pool.map(allocate_many, range(WORKERS)) for number in batch]
    assert len(results) == len(set(results)) == WORKERS * PER_WORKER
    assert sorted(results) == [f"CV-2031-{value:06d}" for value in range(1, WORKERS * PER_WORKER + 1)]

    # A rolled-back allocation releases its number; years count separately.
    session = db.sessions()
    assert allocate_case_number(session, 2032) == "CV-2032-000001"
    session.rollback()
    session.close()
    with db.unit_of_work() as session:
        assert allocate_case_number(session, 2032) == "CV-2032-000001"
        assert allocate_case_number(session, 2033) == "CV-2033-000001"

    # Whole case creations in parallel: the counter row lock and the audit chain lock (taken at commit)
    # never deadlock, and the chain stays intact.
    operator = Actor.system("test")
    with db.unit_of_work() as session:
        queue = services.create_queue(session, name="triage", actor=operator)
        customer = services.create_customer(
            session, keyring=keyring, name="Ola Nordmann", email="ola@example.no", country="NO", actor=operator
        )

    def create_many(worker: int) -> list[str]:
        numbers = []
        for index in range(CASES_PER_WRITER):
            with db.unit_of_work() as session:
                case = services.create_case(
                    session,
                    keyring=keyring,
                    customer=session.merge(customer, load=False),
                    queue=session.merge(queue, load=False),
                    subject=f"Writer {worker} case {index}",
                    description="Call me at +47 22 22 22 22 about the router",
                    actor=operator,
                )
                numbers.append(case.number)
        return numbers

    with ThreadPoolExecutor(max_workers=CASE_WRITERS) as pool:
        numbers = [n for batch in pool.map(create_many, range(CASE_WRITERS)) for n in batch]
    assert len(set(numbers)) == CASE_WRITERS * CASES_PER_WRITER
    report = verify(db.engine, keys=[])
    assert report.ok, report.message
    with db.sessions() as session:
        created = session.scalars(select(AuditEvent.target_id).where(AuditEvent.action == "case.created")).all()
        assert sorted(created) == sorted(numbers)
        assert session.scalar(select(func.count()).select_from(CaseSearchDocument)) == len(numbers)


_CASE_TABLES = {
    "organizations",
    "customers",
    "contacts",
    "queues",
    "queue_memberships",
    "case_counters",
    "cases",
    "notes",
    "redaction_vaults",
    "case_search_documents",
}


def _table_of(diff: object) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item if isinstance(item, tuple) else ():
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in _CASE_TABLES:
            return part
        if name in _CASE_TABLES:
            return str(name)
    return None


def test_migration_matches_models_and_creates_the_search_index(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": search.include_in_schema_check, "render_as_batch": True}
        )
        differences = [diff for diff in compare_metadata(context, Base.metadata) if _table_of(diff) in _CASE_TABLES]
        assert differences == []
        inspector = inspect(connection)
        if db.dialect == "sqlite":
            assert "case_search_fts" in inspector.get_table_names()
        else:
            indexes = {index["name"] for index in inspector.get_indexes("case_search_documents")}
            assert "ix_case_search_documents_tsv" in indexes
