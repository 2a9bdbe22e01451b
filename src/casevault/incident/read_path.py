"""The incident read path: the only rows of customers, cases and contacts incident response reads.

A security officer's own scope holds no case, so under PostgreSQL row-level security the tables show them
nothing. Migration 0009 adds SECURITY DEFINER functions that return exactly these columns for the ids asked, and
only to a transaction bound to an active security officer or to the system/CLI (docs/adr/0603-…). SQLite has no
row-level security: there the same columns come from plain selects, behind the same permission checks upstream.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from casevault.cases.models import Case, Contact, ContactKind, Customer, Organization

__all__ = ["billing_contacts", "case_facts", "customer_channel", "customer_facts"]

_CHUNK = 1000


def _through_functions(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _chunks(values: Iterable[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


def customer_facts(session: Session, customer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str, str]]:
    """reference, upper-case country and sector ("(no organization)" when none) per customer that still exists."""
    facts: dict[uuid.UUID, tuple[str, str, str]] = {}
    for chunk in _chunks(customer_ids):
        if _through_functions(session):
            rows = session.execute(
                text("SELECT id, reference, country, sector FROM incident_customer_facts(:ids)"), {"ids": chunk}
            ).all()
        else:
            rows = session.execute(
                select(Customer.id, Customer.reference, Customer.country, Organization.sector)
                .outerjoin(Organization, Organization.id == Customer.organization_id)
                .where(Customer.id.in_(chunk))
            ).all()
        for customer_id, reference, country, sector in rows:
            facts[customer_id] = (reference, country.upper(), sector or "(no organization)")
    return facts


def case_facts(session: Session, case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, uuid.UUID]]:
    """(number, customer id) of every case that still exists among `case_ids`."""
    facts: dict[uuid.UUID, tuple[str, uuid.UUID]] = {}
    for chunk in _chunks(case_ids):
        if _through_functions(session):
            rows = session.execute(
                text("SELECT id, number, customer_id FROM incident_case_facts(:ids)"), {"ids": chunk}
            ).all()
        else:
            rows = session.execute(select(Case.id, Case.number, Case.customer_id).where(Case.id.in_(chunk))).all()
        facts.update((row[0], (row[1], row[2])) for row in rows)
    return facts


def customer_channel(session: Session, customer_id: uuid.UUID) -> tuple[bytes, bytes | None] | None:
    """The customer's sealed email and phone (still sealed), or None when the customer no longer exists."""
    if _through_functions(session):
        row = session.execute(
            text("SELECT email_sealed, phone_sealed FROM incident_customer_channels(:ids)"), {"ids": [customer_id]}
        ).one_or_none()
    else:
        row = session.execute(
            select(Customer.email_sealed, Customer.phone_sealed).where(Customer.id == customer_id)
        ).one_or_none()
    return None if row is None else (bytes(row[0]), None if row[1] is None else bytes(row[1]))


def billing_contacts(session: Session, customer_id: uuid.UUID) -> Sequence[tuple[uuid.UUID, bytes]]:
    """(contact id, sealed email) of the customer's billing contacts, oldest first."""
    rows: Sequence[tuple[uuid.UUID, bytes, datetime]]
    if _through_functions(session):
        rows = [
            (row[0], row[1], row[2])
            for row in session.execute(
                text("SELECT id, email_sealed, created_at FROM incident_billing_contacts(:ids)"), {"ids": [customer_id]}
            )
        ]
    else:
        rows = [
            (row[0], row[1], row[2])
            for row in session.execute(
                select(Contact.id, Contact.email_sealed, Contact.created_at).where(
                    Contact.customer_id == customer_id, Contact.kind == ContactKind.BILLING
                )
            )
        ]
    return [(contact_id, bytes(sealed)) for contact_id, sealed, _ in sorted(rows, key=lambda row: (row[2], row[0]))]
