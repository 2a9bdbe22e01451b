"""Concurrent writers on separate connections must extend one chain, never fork it or collide."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import func, select

from casevault.access.actor import Actor
from casevault.audit import AuditAction, AuditEntry, AuditEvent, Ed25519Signer, Subject, record, record_many, verify
from casevault.db import Database

WRITERS = 4
TRANSACTIONS = 15


def test_concurrent_appends_form_one_gap_free_chain(db: Database, signer: Ed25519Signer) -> None:
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        actor = Actor.system(f"writer-{number}")
        try:
            start.wait()
            for index in range(TRANSACTIONS):
                with db.unit_of_work() as session:
                    # Read first, as a request does, so every writer holds a snapshot before it appends.
                    session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
                    record(session, actor=actor, action=AuditAction.CASE_VIEWED, subjects=[Subject(uuid.uuid4())])
                    record_many(
                        session,
                        [AuditEntry(actor=actor, action=AuditAction.CASE_LISTED, detail={"i": index})] * 2,
                    )
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    total = WRITERS * TRANSACTIONS * 3
    with db.sessions() as session:
        seqs = session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        labels = session.scalars(select(AuditEvent.actor_label).distinct()).all()
    assert seqs == list(range(1, total + 1))
    assert sorted(labels) == [f"writer-{n}" for n in range(WRITERS)]
    report = verify(db.engine, keys=[signer.public_key], chunk_size=50)
    assert report.ok, report.message
    assert report.events_checked == total
