"""How much a read-budget check costs: `read_usage` over a heavy agent day, against one indexed lookup.

Run: .venv/bin/python benchmarks/access_budgets/bench_read_usage.py [--events 3000] [--pg]
Seeds one agent's day of audit events (a mix of case views and 25-row list pages, as a busy agent or an attacker
harvesting lists would produce) into a fresh SQLite file (and, with --pg, a fresh PostgreSQL database), then
times read_usage() and, as the anchor in the same run, chain_head() (a single indexed lookup every audited
request already pays).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.access.budgets import _exposed_since, charge_reads, read_usage
from casevault.access.roles import Role
from casevault.audit.events import AuditAction, Exposure
from casevault.audit.trail import AuditEntry, Subject, chain_head, record_many
from casevault.db import Database
from casevault.db.base import utcnow
from casevault.db.migrate import upgrade

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def seed(db: Database, agent: uuid.UUID, events: int) -> uuid.UUID:
    actor = Actor(staff_id=agent, username="agent", role=Role.AGENT, method=AuthMethod.SESSION)
    customers = [uuid.uuid4() for _ in range(400)]
    others = [uuid.uuid4() for _ in range(50)]
    with db.unit_of_work() as session:
        entries = []
        for index in range(events):
            if index % 5 == 0:  # a list page of 25
                subjects = [Subject(customers[(index + k) % 400], None, Exposure.LISTED) for k in range(25)]
                entries.append(AuditEntry(actor=actor, action=AuditAction.CASE_LISTED, subjects=subjects))
            else:
                subjects = [Subject(customers[index % 400], None, Exposure.OPENED)]
                entries.append(AuditEntry(actor=actor, action=AuditAction.CASE_VIEWED, subjects=subjects))
        # Other staff's traffic in the same table.
        for index in range(events):
            other = Actor(staff_id=others[index % 50], username="x", role=Role.AGENT, method=AuthMethod.SESSION)
            entries.append(
                AuditEntry(actor=other, action=AuditAction.CASE_VIEWED, subjects=[Subject(customers[index % 400])])
            )
        record_many(session, entries)
    return customers[1]
    # The trail is append-only (no back-dating), so every event is in both windows: the worst case for the query.


def measure(db: Database, agent: uuid.UUID, known: uuid.UUID, repeats: int) -> tuple[float, float, float]:
    """Medians in ms: a charge of a new customer (full count), of a known one (probe only), and the anchor."""
    actor = Actor(staff_id=agent, username="agent", role=Role.AGENT, method=AuthMethod.SESSION)
    new_times, known_times, anchor_times = [], [], []
    for _ in range(repeats):
        with db.sessions() as session:
            start = time.perf_counter()
            _charge_without_limits(session, actor, uuid.uuid4())
            new_times.append(time.perf_counter() - start)
        with db.sessions() as session:
            start = time.perf_counter()
            charge_reads(session, actor, [Subject(known, None, Exposure.OPENED)])
            known_times.append(time.perf_counter() - start)
        with db.sessions() as session:
            start = time.perf_counter()
            chain_head(session)
            anchor_times.append(time.perf_counter() - start)
    return (
        statistics.median(new_times) * 1000,
        statistics.median(known_times) * 1000,
        statistics.median(anchor_times) * 1000,
    )


def _charge_without_limits(session: Session, actor: Actor, customer: uuid.UUID) -> None:
    # The seeded day is far over the default limits; time the work a new customer costs (probe + count).
    assert actor.staff_id is not None
    _exposed_since(session, actor.staff_id, {customer}, since=utcnow() - timedelta(hours=1))
    read_usage(session, actor.staff_id, opened=[customer])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="the agent's audit events in the last day")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--pg", action="store_true", help="also measure on PostgreSQL at 127.0.0.1:5432")
    args = parser.parse_args()
    targets: list[tuple[str, str, str | None]] = []
    directory = Path(tempfile.mkdtemp())
    targets.append(("sqlite", f"sqlite:///{directory / 'bench.db'}", None))
    if args.pg:
        name = f"cv_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        targets.append(("postgresql", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name))
    for label, url, pg_name in targets:
        db = Database(url)
        try:
            upgrade(db)
            agent = uuid.uuid4()
            known = seed(db, agent, args.events)
            with db.sessions() as session:
                usage = read_usage(session, agent)
            new_ms, known_ms, anchor_ms = measure(db, agent, known, args.repeats)
            print(
                f"{label}: events={args.events} {usage}\n  new customer p50={new_ms:.3f} ms "
                f"({new_ms / anchor_ms:.1f}x)  known customer p50={known_ms:.3f} ms ({known_ms / anchor_ms:.1f}x)  "
                f"anchor chain_head p50={anchor_ms:.3f} ms"
            )
        finally:
            db.dispose()
            if pg_name is not None:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
