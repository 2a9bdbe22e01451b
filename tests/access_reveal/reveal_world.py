"""A small staffed world for reveal, grants and break-glass: two queues, customers full of PII, cookie sessions.

Sessions are created directly (MFA complete, optionally stepped up just now), as in tests/incident/test_http.py:
the sign-in flow itself is tested by tests/identity.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.cases import services
from casevault.cases.models import ContactKind, QueueRole
from casevault.crypto import Keyring
from casevault.db import Database
from casevault.db.base import utcnow
from casevault.identity.models import Staff
from casevault.identity.sessions import csrf_token_for
from casevault.identity.tokens import issue_token
from staff_sessions import signed_in_secret

STAFF = {
    "alice": Role.AGENT,  # billing
    "carol": Role.AGENT,  # network
    "sam": Role.SUPERVISOR,  # supervises billing
    "nina": Role.SUPERVISOR,  # supervises network
    "omar": Role.SUPERVISOR,  # supervises network too
    "sofia": Role.SECURITY_OFFICER,
    "sven": Role.SECURITY_OFFICER,
}
QUEUES = {
    "billing": {"alice": QueueRole.MEMBER, "sam": QueueRole.SUPERVISOR},
    "network": {"carol": QueueRole.MEMBER, "nina": QueueRole.SUPERVISOR, "omar": QueueRole.SUPERVISOR},
}

CUSTOMER = {"name": "Haruto Yamamoto", "email": "haruto.yamamoto@kaizen-parts.jp", "phone": "+81 3 5555 0192"}
CONTACT = {"name": "Ingrid Solberg", "email": "ingrid.billing@fjord-freight.no", "phone": "+47 22 55 01 77"}
IN_TEXT_EMAIL = "refunds.desk@northwind-mail.com"
DESCRIPTION = f"Please refund the duplicate charge and write to {IN_TEXT_EMAIL}, the address on the invoice."
TOKEN = re.compile(r"\[EMAIL_ADDRESS:[0-9a-f]+\]")
REASON = "customer asked for a callback about the refund"


@dataclass
class Person:
    """One staff member's browser: its own cookie jar and CSRF header."""

    client: TestClient
    headers: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get("/api/v1" + path, headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post("/api/v1" + path, headers=self.headers, **kwargs)


@dataclass
class World:
    db: Database
    client: TestClient
    staff_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)  # label -> case number
    contact_id: uuid.UUID | None = None

    def person(self, username: str, *, stepped_up: bool = True) -> Person:
        """A fresh browser signed in as `username` (MFA complete; stepped up just now unless told otherwise)."""
        browser = TestClient(self.client.app, raise_server_exceptions=False)
        now = utcnow()
        with self.db.unit_of_work() as session:
            staff = session.get(Staff, self.staff_ids[username])
            assert staff is not None
            secret = signed_in_secret(session, staff, stepped_up=stepped_up, now=now)
        browser.cookies.set("casevault_session", secret)
        return Person(browser, {"x-csrf-token": csrf_token_for(secret)})

    def token(self, username: str) -> Person:
        """An API-token caller with every scope (tokens can never step up)."""
        with self.db.unit_of_work() as session:
            staff = session.scalars(select(Staff).where(Staff.username == username)).one()
            _row, secret = issue_token(session, staff, name="t", scopes=["*"], ttl=timedelta(hours=1))
        return Person(TestClient(self.client.app, raise_server_exceptions=False), {"Authorization": f"Bearer {secret}"})


def build_world(client: TestClient, db: Database, keyring: Keyring) -> World:
    """Staff, queues, one billing case (assigned to alice) and one network case, with PII in text and fields."""
    world = World(db=db, client=client)
    system = Actor.system("test-setup")
    with db.unit_of_work() as session:
        staff: dict[str, Staff] = {}
        for username, role in STAFF.items():
            member = Staff(username=username, display_name=username.title(), role=role)
            session.add(member)
            session.flush()
            staff[username] = member
            world.staff_ids[username] = member.id
        queues = {}
        for name, members in QUEUES.items():
            queue = services.create_queue(session, name=name, actor=system)
            session.flush()
            queues[name] = queue
            for username, queue_role in members.items():
                services.add_queue_member(session, queue, staff[username], role=queue_role, actor=system)
        customer = services.create_customer(session, keyring=keyring, country="JP", actor=system, **CUSTOMER)
        contact = services.add_contact(
            session, customer, keyring=keyring, kind=ContactKind.BILLING, actor=system, **CONTACT
        )
        world.contact_id = contact.id
        billing = services.create_case(
            session,
            keyring=keyring,
            customer=customer,
            queue=queues["billing"],
            subject="Duplicate charge",
            description=DESCRIPTION,
            assignee=staff["alice"],
            actor=system,
        )
        other = services.create_customer(
            session,
            keyring=keyring,
            name="Maria Castillo",
            email="maria.castillo@andes-tel.pe",
            country="PE",
            actor=system,
        )
        network = services.create_case(
            session,
            keyring=keyring,
            customer=other,
            queue=queues["network"],
            subject="Line down",
            description="Fibre line down since Monday, call Maria Castillo on her mobile.",
            assignee=staff["carol"],
            actor=system,
        )
        world.cases = {"billing": billing.number, "network": network.number}
    return world
