"""kill -9 of a writer in the middle of a burst: every committed event survives and the chain still verifies."""

from __future__ import annotations

import signal
import subprocess
import sys

from sqlalchemy import func, select

from casevault.audit import AuditEvent, Ed25519Signer, verify
from casevault.db import Database

WRITER = """
import sys
from casevault.access.actor import Actor
from casevault.audit import AuditAction, AuditEntry, record, record_many
from casevault.db import Database

db = Database(sys.argv[1])
actor = Actor.system("burst")
while True:
    with db.unit_of_work() as session:
        event = record(session, actor=actor, action=AuditAction.CASE_VIEWED)
        record_many(session, [AuditEntry(actor=actor, action=AuditAction.CASE_LISTED)] * 4)
    print(event.seq + 4, flush=True)
"""


def test_kill_minus_nine_during_a_burst(db: Database, signer: Ed25519Signer) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    committed = 0
    for line in writer.stdout:
        committed = int(line)
        if committed >= 100:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()

    with db.sessions() as session:
        head = session.execute(select(func.max(AuditEvent.seq))).scalar_one()
    assert head >= committed  # nothing acknowledged as committed was lost
    assert head % 5 == 0  # transactions are all-or-nothing: never part of a batch
    report = verify(db.engine, keys=[signer.public_key])
    assert report.ok, report.message
    assert report.events_checked == head
