"""A seeded incident: real customers, organisations, cases and staff, and a known audit history for one agent.

The access pattern (agent `mallory`, two sessions) is written straight through `casevault.audit.record` with
`Subject`s, one event per transaction so each has its own timestamp. EXPECTED_* below state, customer by customer
and field by field, what every model must report.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import select

from casevault.access.actor import Actor, AuthMethod
from casevault.access.roles import Role
from casevault.audit import AuditAction, AuditEvent, Exposure, Outcome, Subject, record
from casevault.cases import Case, ContactKind, Customer, Queue, add_contact, create_customer, create_organization
from casevault.crypto import Keyring
from casevault.db import Database
from casevault.db.base import utcnow
from casevault.identity.models import ApiToken, Staff, StaffSession, TotpFactor
from casevault.identity.sessions import csrf_token_for
from casevault.identity.tokens import issue_token
from staff_sessions import signed_in_secret

IP_ONE = "203.0.113.0/24"
IP_TWO = "198.51.100.0/24"
BILLING_C1 = "billing.c1@example.com"

# customer key -> (country, organisation key or None, email, phone)
CUSTOMERS: dict[str, tuple[str, str | None, str, str | None]] = {
    "c1": ("US", "acme", "ada.c1@example.com", "+1 202 555 0101"),
    "c2": ("GB", "bolt", "ben.c2@example.org", None),
    "c3": ("DE", "credit", "cai.c3@example.net", "+49 30 1234567"),
    "c4": ("US", None, "dee.c4@example.com", None),
    "c5": ("CA", "dune", "eve.c5@example.ca", None),
    "c6": ("US", "acme", "fay.c6@example.com", None),
}
# organisation key -> (country, sector)
ORGANIZATIONS = {"acme": ("US", "it"), "bolt": ("GB", "it"), "credit": ("DE", "finance"), "dune": ("CA", "retail")}


@dataclass
class World:
    """Ids of everything seeded, and the seq/time of each event of the access pattern."""

    customers: dict[str, uuid.UUID] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    cases: dict[str, uuid.UUID] = field(default_factory=dict)
    case_numbers: dict[str, str] = field(default_factory=dict)
    mallory: uuid.UUID = field(default_factory=uuid.uuid4)
    bob: uuid.UUID = field(default_factory=uuid.uuid4)
    officer: uuid.UUID = field(default_factory=uuid.uuid4)
    session_one: uuid.UUID = field(default_factory=uuid.uuid4)
    session_two: uuid.UUID = field(default_factory=uuid.uuid4)
    token_id: uuid.UUID = field(default_factory=uuid.uuid4)
    times: dict[str, datetime] = field(default_factory=dict)
    seqs: dict[str, int] = field(default_factory=dict)

    @property
    def ref_one(self) -> str:
        return f"session:{self.session_one.hex[:16]}"

    @property
    def ref_two(self) -> str:
        return f"session:{self.session_two.hex[:16]}"

    def key_of(self, customer_id: uuid.UUID) -> str:
        return next(key for key, value in self.customers.items() if value == customer_id)


def _staff(session_id: uuid.UUID, username: str, role: Role) -> Staff:
    return Staff(id=session_id, username=username, display_name=username.title(), role=role)


def _staff_session(row_id: uuid.UUID, staff_id: uuid.UUID, ip: str, now: datetime) -> StaffSession:
    return StaffSession(
        id=row_id,
        staff_id=staff_id,
        secret_hash=hashlib.sha256(row_id.bytes).digest(),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=8),
        ip_prefix=ip,
        user_agent_hash=hashlib.sha256(b"ua").digest(),
        mfa_method="totp",
        mfa_completed_at=now,
    )


def build_world(db: Database, keyring: Keyring) -> World:
    """Seed staff, organisations, customers, cases, then mallory's access pattern and some noise from bob."""
    world = World()
    system = Actor.system("seeder")
    now = utcnow()
    with db.unit_of_work() as session:
        session.add_all(
            [
                _staff(world.mallory, "mallory", Role.AGENT),
                _staff(world.bob, "bob", Role.AGENT),
                _staff(world.officer, "sofia", Role.SECURITY_OFFICER),
            ]
        )
        session.flush()
        session.add_all(
            [
                _staff_session(world.session_one, world.mallory, IP_ONE, now),
                _staff_session(world.session_two, world.mallory, IP_TWO, now),
            ]
        )
        session.add(
            ApiToken(
                id=world.token_id,
                staff_id=world.mallory,
                name="export",
                prefix="cvt_abcdefgh",
                token_hash=hashlib.sha256(b"mallory-token").digest(),
                scopes=["case:read"],
                created_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
        session.add(TotpFactor(staff_id=world.mallory, secret_wrapped=b"wrapped", created_at=now, confirmed_at=now))
        organizations = {
            key: create_organization(session, name=f"{key.title()} Ltd", country=country, sector=sector, actor=system)
            for key, (country, sector) in ORGANIZATIONS.items()
        }
        queue = Queue(name="billing", description="")
        session.add(queue)
        session.flush()
        for number, (key, (country, org, email, phone)) in enumerate(CUSTOMERS.items(), start=1):
            customer: Customer = create_customer(
                session,
                keyring=keyring,
                name=f"Customer {key}",
                email=email,
                country=country,
                phone=phone,
                organization=organizations[org] if org else None,
                actor=system,
            )
            world.customers[key] = customer.id
            if key == "c1":
                # A billing contact (notified) and a technical one (not a notification channel).
                for kind, address in (
                    (ContactKind.BILLING, BILLING_C1),
                    (ContactKind.TECHNICAL, "tech.c1@example.com"),
                ):
                    add_contact(session, customer, keyring=keyring, kind=kind, name="Pat", email=address, actor=system)
            world.references[key] = customer.reference
            case = Case(
                number=f"CV-2026-{number:06d}",
                customer_id=customer.id,
                queue_id=queue.id,
                subject_sealed=b"sealed",
                subject_redacted="Invoice question",
                description_sealed=b"sealed",
                description_redacted="Please call me on [PHONE_NUMBER:0a1b]",
            )
            session.add(case)
            session.flush()
            world.cases[key] = case.id
            world.case_numbers[key] = case.number

    mallory_one = Actor(world.mallory, "mallory", Role.AGENT, AuthMethod.SESSION, world.ref_one, IP_ONE)
    mallory_two = Actor(world.mallory, "mallory", Role.AGENT, AuthMethod.SESSION, world.ref_two, IP_TWO)
    bob = Actor(world.bob, "bob", Role.AGENT, AuthMethod.SESSION, "session:b0b0b0b0b0b0b0b0", IP_ONE)

    def event(
        name: str, actor: Actor, action: AuditAction, subjects: list[Subject], fields: list[str], **kw: object
    ) -> None:
        with db.unit_of_work() as session:
            row: AuditEvent = record(session, actor=actor, action=action, subjects=subjects, fields=fields, **kw)  # type: ignore[arg-type]
        world.times[name] = row.occurred_at
        world.seqs[name] = row.seq

    c, k = world.customers, world.cases
    # Session one: a queue listing, one case opened and an email revealed, one customer record opened.
    event("e1", mallory_one, AuditAction.CASE_LISTED,
          [Subject(c[x], k[x], Exposure.LISTED) for x in ("c1", "c2", "c3", "c5")], ["subject"])  # fmt: skip
    event(
        "e2",
        mallory_one,
        AuditAction.CASE_VIEWED,
        [Subject(c["c1"], k["c1"], Exposure.OPENED)],
        ["subject", "description"],
    )
    event(
        "e3",
        mallory_one,
        AuditAction.PII_REVEALED,
        [Subject(c["c1"], k["c1"], Exposure.REVEALED)],
        ["email"],
        reason="verify caller",
    )
    event(
        "e4",
        mallory_one,
        AuditAction.CUSTOMER_VIEWED,
        [Subject(c["c2"], None, Exposure.OPENED)],
        ["name", "email", "phone", "contacts"],
    )
    # Noise: another agent opens c4; it is not mallory's exposure.
    event("n1", bob, AuditAction.CASE_VIEWED, [Subject(c["c4"], k["c4"], Exposure.OPENED)], ["description"])
    # Session two: a search, a case opened and a phone number in its description revealed, a note written,
    # a denied read (exposes nothing) and an event naming only the case (customer found through the case).
    found = [Subject(c["c4"], k["c4"], Exposure.LISTED), Subject(c["c2"], k["c2"], Exposure.LISTED)]
    event("e5", mallory_two, AuditAction.CASE_SEARCHED, found, ["subject"])
    event("e6", mallory_two, AuditAction.CASE_VIEWED, [Subject(c["c3"], k["c3"], Exposure.OPENED)], ["description"])
    event(
        "e7",
        mallory_two,
        AuditAction.PII_REVEALED,
        [Subject(c["c3"], k["c3"], Exposure.REVEALED)],
        ["description:PHONE_NUMBER"],
        reason="call back",
    )
    event("e8", mallory_two, AuditAction.NOTE_ADDED, [Subject(c["c2"], k["c2"], Exposure.WRITTEN)], ["body"])
    event(
        "e9",
        mallory_two,
        AuditAction.CASE_VIEWED,
        [Subject(c["c5"], k["c5"], Exposure.OPENED)],
        ["description"],
        outcome=Outcome.DENIED,
    )
    event("e10", mallory_two, AuditAction.CASE_VIEWED, [Subject(None, k["c6"], Exposure.OPENED)], ["description"])
    return world


# Expected report rows: customer key -> (exposure, wrote, cases, {(field, entity): shown}, events, sessions, ips,
# first event, last event). Sessions and IPs are given as "one"/"two".
Expected = tuple[
    str, bool, tuple[str, ...], dict[tuple[str, str], str], int, tuple[str, ...], tuple[str, ...], str, str
]
M, R, W = "masked", "revealed", "written"
SUBJECT, DESCRIPTION, BODY = ("subject", "FREE_TEXT"), ("description", "FREE_TEXT"), ("body", "FREE_TEXT")
EMAIL, PHONE, NAME = ("email", "EMAIL_ADDRESS"), ("phone", "PHONE_NUMBER"), ("name", "PERSON")
CONTACTS, DESCRIPTION_PHONE = ("contacts", "CONTACT_DETAILS"), ("description", "PHONE_NUMBER")
C2_RECORD = {NAME: M, EMAIL: M, PHONE: M, CONTACTS: M}
ONE, TWO, BOTH = ("one",), ("two",), ("one", "two")

EXPECTED_ACCOUNT: dict[str, Expected] = {
    "c1": (R, False, ("c1",), {SUBJECT: M, DESCRIPTION: M, EMAIL: R}, 2, ONE, ONE, "e2", "e3"),
    "c3": (R, False, ("c3",), {DESCRIPTION: M, DESCRIPTION_PHONE: R}, 2, TWO, TWO, "e6", "e7"),
    "c2": ("opened", True, ("c2",), {**C2_RECORD, BODY: W}, 2, BOTH, BOTH, "e4", "e8"),
    "c6": ("opened", False, ("c6",), {DESCRIPTION: M}, 1, TWO, TWO, "e10", "e10"),
}

EXPECTED_SESSION_ONE: dict[str, Expected] = {
    "c1": EXPECTED_ACCOUNT["c1"],
    "c2": ("opened", False, (), C2_RECORD, 1, ONE, ONE, "e4", "e4"),
}

EXPECTED_SCREEN: dict[str, Expected] = {
    "c1": (R, False, ("c1",), {SUBJECT: M, DESCRIPTION: M, EMAIL: R}, 3, ONE, ONE, "e1", "e3"),
    "c3": (R, False, ("c3",), {SUBJECT: M, DESCRIPTION: M, DESCRIPTION_PHONE: R}, 3, BOTH, BOTH, "e1", "e7"),
    "c2": ("opened", True, ("c2",), {SUBJECT: M, **C2_RECORD, BODY: W}, 4, BOTH, BOTH, "e1", "e8"),
    "c6": EXPECTED_ACCOUNT["c6"],
    "c4": ("listed", False, ("c4",), {SUBJECT: M}, 1, TWO, TWO, "e5", "e5"),
    "c5": ("listed", False, ("c5",), {SUBJECT: M}, 1, ONE, ONE, "e1", "e1"),
}


def token_for(db: Database, username: str, scopes: list[str]) -> dict[str, str]:
    """Bearer headers for a new API token of `username`."""
    with db.unit_of_work() as session:
        staff = session.scalars(select(Staff).where(Staff.username == username)).one()
        _row, secret = issue_token(session, staff, name="t", scopes=scopes, ttl=timedelta(days=1))
    return {"Authorization": f"Bearer {secret}"}


def officer_session(db: Database, client: TestClient, *, stepped_up: bool) -> dict[str, str]:
    """A real cookie session for the security officer, MFA complete, optionally stepped up just now."""
    now = utcnow()
    with db.unit_of_work() as session:
        staff = session.scalars(select(Staff).where(Staff.username == "sofia")).one()
        secret = signed_in_secret(session, staff, stepped_up=stepped_up, now=now)
    client.cookies.set("casevault_session", secret)
    return {"x-csrf-token": csrf_token_for(secret)}


Tamper = Callable[[str, int], None]


def tamper_with(db: Database) -> Tamper:
    """Run one SQL statement (one %s parameter) as an attacker with database access would, past the triggers."""
    url = db.engine.url.render_as_string(hide_password=False)

    def run(sql: str, seq: int) -> None:
        if db.dialect == "postgresql":
            dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SET session_replication_role = replica")
                conn.execute(sql, (seq,))  # type: ignore[arg-type]
        else:
            conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            try:
                for table in ("audit_events", "audit_subjects"):
                    conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                conn.execute(sql.replace("%s", "?"), (seq,))
            finally:
                conn.close()

    return run
