"""Case services benchmark: create_case cost and full-text search latency on SQLite (FTS5) and PostgreSQL (GIN).

Seeds N cases through the real services (seal + redact + index + audit), then times `search_cases` as an agent
(scope filter, count, page and the audit write included), and the index match alone against an anchor measured
in the same run: the same terms found by an unindexed `ILIKE '%term%'` scan of the same redacted documents.

    .venv/bin/python benchmarks/cases/search_bench.py --cases 1000 --databases sqlite,postgresql
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from casevault.access.actor import Actor, AuthMethod
from casevault.access.roles import Role
from casevault.cases import search, services
from casevault.cases.models import CaseSearchDocument, QueueRole
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.db.migrate import upgrade
from casevault.identity import Staff

PG_ADMIN = os.environ.get("CASEVAULT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
WORDS = [
    "printer",
    "router",
    "invoice",
    "refund",
    "laptop",
    "battery",
    "screen",
    "keyboard",
    "license",
    "upgrade",
    "password",
    "reset",
    "firewall",
    "vpn",
    "backup",
    "restore",
    "outage",
    "latency",
    "billing",
    "shipment",
    "warranty",
    "replacement",
    "toner",
    "cable",
    "adapter",
    "monitor",
]
FILLER = """the a we it is was not since after before when our your this that please again still""".split()  # noqa: SIM905
FIRST = ["Ana", "Bo", "Chen", "Dara", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jamal", "Kofi", "Lena"]
LAST = ["Silva", "Lind", "Wang", "Okafor", "Novak", "Haddad", "Petrov", "Sato", "Berg", "Costa", "Weber"]


def _text(rng: random.Random, name: str, email: str, phone: str) -> str:
    # Eight topic words per case among filler, so a two-word query matches roughly one case in ten.
    words = " ".join(rng.choice(WORDS) if i % 5 == 0 else rng.choice(FILLER) for i in range(40))
    return f"Hello, this is {name} ({email}, {phone}). {words}. Server at 10.{rng.randrange(256)}.0.7 is slow."


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def run(url: str, keyring: Keyring, cases: int, seed: int) -> dict[str, float]:
    db = Database(url)
    upgrade(db)
    rng = random.Random(seed)
    operator = Actor.system("bench")
    with db.unit_of_work() as session:
        queue = services.create_queue(session, name="bench", actor=operator)
        agent = Staff(username="agent", display_name="Agent", role=Role.AGENT)
        session.add(agent)
        session.flush()
        services.add_queue_member(session, queue, agent, role=QueueRole.MEMBER, actor=operator)
        customers = []
        for index in range(max(1, cases // 10)):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"{name.split()[0].lower()}.{index}@example.com"
            customers.append(
                (
                    services.create_customer(
                        session, keyring=keyring, name=name, email=email, country="GB", actor=operator
                    ),
                    name,
                    email,
                )
            )
    agent_actor = Actor(staff_id=agent.id, username="agent", role=Role.AGENT, method=AuthMethod.TOKEN)

    create_samples: list[float] = []
    for start in range(0, cases, 100):
        with db.unit_of_work() as session:
            for _ in range(min(100, cases - start)):
                customer, name, email = rng.choice(customers)
                phone = f"+44 20 7946 {rng.randrange(10000):04d}"
                began = time.perf_counter()
                services.create_case(
                    session,
                    keyring=keyring,
                    customer=session.merge(customer, load=False),
                    queue=session.merge(queue, load=False),
                    subject=f"{rng.choice(WORDS)} issue",
                    description=_text(rng, name, email, phone),
                    actor=operator,
                )
                create_samples.append(time.perf_counter() - began)

    if db.dialect == "postgresql":
        # What autovacuum would do shortly after a bulk load; without statistics the planner guesses.
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    terms = [rng.choice(WORDS) + " " + rng.choice(WORDS) for _ in range(30)]
    with db.sessions() as session:
        full = _time_terms(lambda q: services.search_cases(session, q, actor=agent_actor, limit=25), terms)
        session.rollback()  # the audit rows of the timed searches are not needed

        def indexed(query: str) -> object:
            matched = search.match_cases(session, query.split()).subquery()
            return session.scalar(select(func.count()).select_from(matched))

        index_only = _time_terms(indexed, terms)

        def scan(query: str) -> object:
            first, second = query.split()
            return session.scalar(
                select(func.count())
                .select_from(CaseSearchDocument)
                .where(CaseSearchDocument.body.ilike(f"%{first}%"), CaseSearchDocument.body.ilike(f"%{second}%"))
            )

        anchor = _time_terms(scan, terms)
    db.dispose()
    return {
        "create_median_ms": _median_ms(create_samples),
        "create_p95_ms": _p95_ms(create_samples),
        "search_median_ms": _median_ms(full),
        "search_p95_ms": _p95_ms(full),
        "index_match_median_ms": _median_ms(index_only),
        "like_scan_median_ms": _median_ms(anchor),
        "ratio_like_over_index": statistics.median(anchor) / statistics.median(index_only),
    }


def _time_terms(function: Callable[[str], object], terms: list[str]) -> list[float]:
    function(terms[0])  # warm caches and plans
    samples: list[float] = []
    for term in terms:
        started = time.perf_counter()
        function(term)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keyring = Keyring(LocalKeyFile.create(Path(tmp) / "keys" / "master.key"))
        for dialect in args.databases.split(","):
            if dialect == "sqlite":
                result = run(f"sqlite:///{tmp}/bench.db", keyring, args.cases, args.seed)
            else:
                name = f"cv_bench_{uuid.uuid4().hex[:10]}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
                try:
                    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
                    result = run(f"{base}/{name}", keyring, args.cases, args.seed)
                finally:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
            print(dialect, args.cases, " ".join(f"{key}={value:.2f}" for key, value in result.items()), flush=True)


if __name__ == "__main__":
    main()
