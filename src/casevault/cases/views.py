"""Response shapes built from rows the access functions returned: redacted text and masked structured PII only."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from casevault.cases import services
from casevault.cases.masking import mask_email, mask_name, mask_phone
from casevault.cases.models import Case, Contact, Customer, Note, Organization
from casevault.cases.schemas import (
    CaseDetail,
    CaseSummary,
    ContactOut,
    CustomerOut,
    CustomerRef,
    CustomerSummary,
    NoteOut,
    OrganizationOut,
)
from casevault.crypto.keyring import Keyring

__all__ = [
    "ERASED",
    "case_detail",
    "case_summaries",
    "contact_view",
    "customer_summary",
    "customer_view",
    "note_views",
    "organization_view",
]

ERASED = "[erased]"


def case_summaries(session: Session, cases: Sequence[Case]) -> list[CaseSummary]:
    """List rows: redacted subject, customer reference only (nothing is decrypted for a list)."""
    labels = services.case_labels(session, cases)
    return [
        CaseSummary(
            number=case.number,
            status=case.status,
            priority=case.priority,
            queue=labels.queues.get(case.queue_id, ""),
            assignee=labels.staff.get(case.assignee_id) if case.assignee_id else None,
            customer=labels.customers[case.customer_id].reference,
            subject=case.subject_redacted,
            created_at=case.created_at,
            updated_at=case.updated_at,
        )
        for case in cases
    ]


def case_detail(session: Session, keyring: Keyring, case: Case) -> CaseDetail:
    """One case: redacted text and the customer's masked name and email ([erased] once crypto-shredded)."""
    labels = services.case_labels(session, [case])
    customer = labels.customers[case.customer_id]
    try:
        opened = services.open_customer(session, keyring, customer)
        name, email = mask_name(opened.name), mask_email(opened.email)
    except services.CustomerErased:
        # Crypto-shredded: the case (redacted, tokens unlinkable without the key) outlives the person's data.
        name = email = ERASED
    return CaseDetail(
        number=case.number,
        status=case.status,
        priority=case.priority,
        queue=labels.queues.get(case.queue_id, ""),
        assignee=labels.staff.get(case.assignee_id) if case.assignee_id else None,
        customer=CustomerRef(reference=customer.reference, name=name, email=email),
        subject=case.subject_redacted,
        description=case.description_redacted,
        resolution=case.resolution_redacted,
        remarks=case.remarks_redacted,
        created_at=case.created_at,
        updated_at=case.updated_at,
        resolved_at=case.resolved_at,
    )


def note_views(session: Session, notes: Sequence[Note]) -> list[NoteOut]:
    """Notes with their redacted bodies and author usernames."""
    labels = services.case_labels(session, [], notes=notes)
    return [
        NoteOut(
            id=note.id,
            visibility=note.visibility,
            author=labels.staff.get(note.author_id) if note.author_id else None,
            body=note.body_redacted,
            created_at=note.created_at,
        )
        for note in notes
    ]


def organization_view(organization: Organization) -> OrganizationOut:
    """An organisation (business data, shown in clear)."""
    return OrganizationOut(
        id=organization.id,
        name=organization.name,
        country=organization.country,
        sector=organization.sector,
        created_at=organization.created_at,
    )


def contact_view(session: Session, keyring: Keyring, contact: Contact) -> ContactOut:
    """A contact with masked name, email and phone."""
    opened = services.open_customer(session, keyring, contact)
    return ContactOut(
        id=contact.id,
        kind=contact.kind,
        name=mask_name(opened.name),
        email=mask_email(opened.email),
        phone=mask_phone(opened.phone) if opened.phone else None,
    )


def customer_view(
    session: Session, keyring: Keyring, customer: Customer, *, contacts: Sequence[Contact]
) -> CustomerOut:
    """A customer with masked fields and its masked contacts."""
    opened = services.open_customer(session, keyring, customer)
    return CustomerOut(
        reference=customer.reference,
        country=customer.country,
        organization_id=customer.organization_id,
        name=mask_name(opened.name),
        email=mask_email(opened.email),
        phone=mask_phone(opened.phone) if opened.phone else None,
        contacts=[contact_view(session, keyring, contact) for contact in contacts],
        created_at=customer.created_at,
    )


def customer_summary(session: Session, keyring: Keyring, customer: Customer) -> CustomerSummary:
    """A lookup result: reference, country, masked name and email ([erased] once crypto-shredded)."""
    try:
        opened = services.open_customer(session, keyring, customer)
        name, email = mask_name(opened.name), mask_email(opened.email)
    except services.CustomerErased:
        name = email = ERASED
    return CustomerSummary(reference=customer.reference, country=customer.country, name=name, email=email)
