"""Generate a large, correctly hash-chained audit trail in PostgreSQL with COPY (for bench_verify.py).

    .venv/bin/python benchmarks/audit/generate_chain.py --database cv_bench_audit --events 10000000

Creates (or recreates) the database, migrates it, streams events and subjects with COPY, and signs a checkpoint
every --checkpoint-every events with the key in --data-dir (created if missing). Hashes come from
casevault.audit.encoding.encode_event itself; bench_verify.py checks every one.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import psycopg

from casevault.audit.checkpoints import Ed25519Signer, checkpoint_message
from casevault.audit.encoding import GENESIS_HASH, chain_hash, encode_event, encode_subject
from casevault.crypto import LocalKeyFile
from casevault.db import Database
from casevault.db.migrate import upgrade

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
ACTIONS = ["case.viewed", "case.listed", "note.viewed", "case.updated", "customer.viewed", "pii.revealed"]
CUSTOMERS = [uuid.UUID(int=(0x5EED << 64) + n) for n in range(5000)]
CASES = [uuid.UUID(int=(0xCA5E << 64) + n) for n in range(20000)]
SECONDARY_INDEXES = [
    ("ix_audit_events_actor_time", "audit_events (actor_id, occurred_at)"),
    ("ix_audit_events_session_ref", "audit_events (session_ref)"),
    ("ix_audit_subjects_customer", "audit_subjects (customer_id, event_seq)"),
    ("ix_audit_subjects_event_seq", "audit_subjects (event_seq)"),
]
STAFF = [uuid.UUID(int=(0x57AF << 64) + n) for n in range(50)]


@lru_cache(maxsize=100_000)
def subject_text(customer: uuid.UUID, case: uuid.UUID | None, exposure: str) -> str:
    return encode_subject(customer, case, exposure)


def subjects_for(seq: int) -> list[tuple[uuid.UUID, uuid.UUID | None, str]]:
    """Deterministic subjects: most events expose one customer, lists expose three, some none."""
    if seq % 5 == 1:
        return []
    customer = CUSTOMERS[(seq * 7919) % len(CUSTOMERS)]
    if seq % 10 == 0:
        return [(CUSTOMERS[(seq * 31 + k) % len(CUSTOMERS)], None, "listed") for k in range(3)]
    return [(customer, CASES[(seq * 104729) % len(CASES)], "opened")]


def event_values(seq: int) -> dict[str, object]:
    """The stored values of event `seq` (also used to cross-check the fast encoder)."""
    staff = STAFF[seq % len(STAFF)]
    return {
        "seq": seq,
        "occurred_at": BASE_TIME + timedelta(microseconds=seq * 250),
        "actor_id": staff,
        "actor_label": f"agent.{seq % len(STAFF):02d}",
        "session_ref": f"token:{staff.hex[:16]}",
        "ip_prefix": f"10.{seq % len(STAFF)}.0.0/24",
        "action": ACTIONS[seq % len(ACTIONS)],
        "outcome": "allowed",
        "reason": None,
        "target_type": "case",
        "target_id": f"CV-2026-{seq % 1000000:06d}",
        "fields_json": '["description"]',
        "detail_json": '{"route":"/api/v1/cases/{number}"}',
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="cv_bench_audit")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/casevault-bench-audit"))
    parser.add_argument("--admin-dsn", default=ADMIN_DSN)
    args = parser.parse_args()

    key_file = args.data_dir / "keys" / "master.key"
    provider = LocalKeyFile(key_file) if key_file.exists() else LocalKeyFile.create(key_file)
    signer = Ed25519Signer.from_provider(provider)

    with psycopg.connect(args.admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    base = args.admin_dsn.rsplit("/", 1)[0]
    db = Database(f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{args.database}")
    upgrade(db)
    db.dispose()

    started = time.perf_counter()
    checkpoints: list[tuple[int, bytes]] = []
    prev = GENESIS_HASH
    with psycopg.connect(f"{base}/{args.database}") as conn:
        # Benchmark data only: skip the FK triggers while loading (the rows are generated consistent), and
        # build the secondary indexes once at the end rather than row by row.
        conn.execute("SET session_replication_role = replica")
        for index, _definition in SECONDARY_INDEXES:
            conn.execute(f"DROP INDEX {index}")
        columns = (
            "seq, encoding, occurred_at, actor_id, actor_label, session_ref, ip_prefix, action, outcome, reason, "
            "target_type, target_id, fields, detail, prev_hash, hash"
        )
        with conn.cursor().copy(f"COPY audit_events ({columns}) FROM STDIN") as copy:
            buffer: list[str] = []
            for seq in range(1, args.events + 1):
                staff = seq % len(STAFF)
                values = event_values(seq)
                payload = encode_event(
                    version=1,
                    subjects=[subject_text(c, k, e) for c, k, e in subjects_for(seq)],
                    **values,  # type: ignore[arg-type]
                )
                stored_time = f"{values['occurred_at']:%Y-%m-%d %H:%M:%S.%f}+00"
                target = values["target_id"]
                digest = chain_hash(prev, payload)
                buffer.append(
                    f"{seq}\t1\t{stored_time}\t{STAFF[staff]}\tagent.{staff:02d}\ttoken:{STAFF[staff].hex[:16]}\t"
                    f"10.{staff}.0.0/24\t{ACTIONS[seq % len(ACTIONS)]}\tallowed\t\\N\tcase\t{target}\t"
                    f'["description"]\t{{"route":"/api/v1/cases/{{number}}"}}\t\\\\x{prev.hex()}\t\\\\x{digest.hex()}\n'
                )
                prev = digest
                if seq % args.checkpoint_every == 0 or seq == args.events:
                    checkpoints.append((seq, digest))
                if len(buffer) >= 20000:
                    copy.write("".join(buffer))
                    buffer.clear()
                if seq % 1_000_000 == 0:
                    print(f"  events {seq:,}  {time.perf_counter() - started:.0f} s", flush=True)
            copy.write("".join(buffer))
        with conn.cursor().copy("COPY audit_subjects (event_seq, customer_id, case_id, exposure) FROM STDIN") as copy:
            buffer = []
            for seq in range(1, args.events + 1):
                for customer, case, exposure in subjects_for(seq):
                    buffer.append(f"{seq}\t{customer}\t{case if case else chr(92) + 'N'}\t{exposure}\n")
                if len(buffer) >= 20000:
                    copy.write("".join(buffer))
                    buffer.clear()
            copy.write("".join(buffer))
        created = datetime.now(UTC)
        for seq, head in checkpoints:
            signature = signer.sign(checkpoint_message(seq, head, seq, created, signer.key_id))
            conn.execute(
                "INSERT INTO audit_checkpoints (seq, head_hash, event_count, signature, key_id, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (seq, head, seq, signature, signer.key_id, created),
            )
        conn.execute("SET maintenance_work_mem = '512MB'")
        for index, definition in SECONDARY_INDEXES:
            conn.execute(f"CREATE INDEX {index} ON {definition}")
        conn.commit()
    with psycopg.connect(f"{base}/{args.database}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE audit_events")
        conn.execute("VACUUM ANALYZE audit_subjects")
    print(
        f"generated {args.events:,} events, {len(checkpoints)} checkpoints in {time.perf_counter() - started:.0f} s; "
        f"key file {key_file}"
    )


if __name__ == "__main__":
    main()
