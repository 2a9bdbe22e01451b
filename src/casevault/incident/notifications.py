"""Customer-notification export: one record per affected customer, contact channel opened only at export time.

The export recomputes the incident's report at its recorded chain head and refuses if it no longer matches, so
customers are told exactly what was recorded. Opening the contact channel is itself an exposure: the export is
audited with every customer as a `revealed` subject of the exporter. Records are never logged and have no repr.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.access.permissions import Permission, role_allows
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.trail import Subject, record
from casevault.crypto.keyring import Keyring, KeyShredded, aad_for
from casevault.errors import Conflict, PermissionDenied
from casevault.incident.blast_radius import CustomerExposure, compute_blast_radius
from casevault.incident.models import Incident
from casevault.incident.read_path import billing_contacts, customer_channel
from casevault.incident.services import query_of

__all__ = [
    "EXPORT_COLUMNS",
    "ExportFormat",
    "IncidentChanged",
    "NotificationRecord",
    "export_notifications",
    "guidance_for",
    "render",
]

EXPORT_COLUMNS = (
    "customer_reference",
    "contact_email",
    "contact_phone",
    "billing_contact_emails",
    "country",
    "exposure",
    "cases",
    "fields_revealed",
    "fields_masked",
    "first_exposed",
    "last_exposed",
    "guidance",
)

_GUIDANCE = {
    Exposure.REVEALED: (
        "Some of your details ({fields}) were shown in clear to an account we have since suspended. Be wary of "
        "messages that quote them: we will never ask you to pay, change bank details or sign in through a link. "
        "Check any contact that claims to be our support in the customer portal before replying."
    ),
    Exposure.OPENED: (
        "Your support case was opened by an account we have since suspended; your personal details were masked "
        "on screen. Be wary of unexpected messages about your case: we will never ask you to pay, change bank "
        "details or sign in through a link."
    ),
    Exposure.LISTED: (
        "Your case's reference and subject line appeared in a list viewed by an account we have since suspended; "
        "no personal details were shown. No action is needed, but be wary of unexpected messages about your case."
    ),
}


class ExportFormat(StrEnum):
    """Mail-merge (CSV) or ticketing (JSON)."""

    CSV = "csv"
    JSON = "json"


class IncidentChanged(Conflict):
    """The audit trail no longer gives the recorded report: verify the incident before notifying anyone."""

    public_message = "the incident no longer matches the audit trail; run incident verify"


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """One customer to notify. Holds decrypted contact details: never log it (the repr hides them)."""

    customer_reference: str
    contact_email: str | None
    contact_phone: str | None
    billing_contact_emails: tuple[str, ...]
    country: str
    exposure: str
    cases: tuple[str, ...]
    fields_revealed: tuple[str, ...]
    fields_masked: tuple[str, ...]
    first_exposed: str
    last_exposed: str
    guidance: str

    def __repr__(self) -> str:
        return f"NotificationRecord(customer_reference={self.customer_reference!r}, <contact sealed>)"

    def as_dict(self) -> dict[str, object]:
        return {
            "customer_reference": self.customer_reference,
            "contact_email": self.contact_email,
            "contact_phone": self.contact_phone,
            "billing_contact_emails": list(self.billing_contact_emails),
            "country": self.country,
            "exposure": self.exposure,
            "cases": list(self.cases),
            "fields_revealed": list(self.fields_revealed),
            "fields_masked": list(self.fields_masked),
            "first_exposed": self.first_exposed,
            "last_exposed": self.last_exposed,
            "guidance": self.guidance,
        }


# How a revealed value is named to the customer.
_PLAIN = {
    "EMAIL_ADDRESS": "email address",
    "PHONE_NUMBER": "phone number",
    "PERSON": "name",
    "LOCATION": "address",
    "IP_ADDRESS": "IP address",
    "CREDIT_CARD": "card number",
    "IBAN_CODE": "bank account number",
    "US_SSN": "social security number",
    "CONTACT_DETAILS": "contact details",
    "FREE_TEXT": "case text",
}


def guidance_for(exposure: Exposure, revealed_kinds: Sequence[str] = ()) -> str:
    """The advice text for a customer at `exposure`; revealed values are named by kind (entity type), never shown."""
    kinds = sorted({_PLAIN.get(kind, kind.replace("_", " ").lower()) for kind in revealed_kinds})
    return _GUIDANCE[exposure].format(fields=", ".join(kinds) or "some details")


def _may_export(actor: Actor) -> bool:
    # The operator at the server's shell already holds the keys; over HTTP only a signed-in security officer
    # (the route adds step-up). Tokens never: there is no person and no second factor behind them.
    if actor.method is AuthMethod.CLI:
        return True
    return actor.method is AuthMethod.SESSION and role_allows(actor.role, Permission.INCIDENT_MANAGE)


def _field_label(name: str, entity: str) -> str:
    return name if entity in {"FREE_TEXT"} or entity == name.upper() else f"{name} ({entity})"


def _record_for(customer: CustomerExposure, channel: _Channel) -> NotificationRecord:
    revealed = tuple(_field_label(f.name, f.entity_type) for f in customer.fields if f.shown == "revealed")
    masked = tuple(_field_label(f.name, f.entity_type) for f in customer.fields if f.shown != "revealed")
    return NotificationRecord(
        customer_reference=customer.reference,
        contact_email=channel.email,
        contact_phone=channel.phone,
        billing_contact_emails=channel.billing,
        country=customer.country,
        exposure=str(customer.exposure),
        cases=customer.cases,
        fields_revealed=revealed,
        fields_masked=masked,
        first_exposed=customer.first_seen.isoformat().replace("+00:00", "Z"),
        last_exposed=customer.last_seen.isoformat().replace("+00:00", "Z"),
        guidance=guidance_for(customer.exposure, [f.entity_type for f in customer.fields if f.shown == "revealed"]),
    )


@dataclass(frozen=True, slots=True)
class _Channel:
    email: str | None = None
    phone: str | None = None
    billing: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "_Channel(<sealed>)"


def _open_channel(session: Session, keyring: Keyring, customer_id: uuid.UUID) -> _Channel:
    """The customer's own email and phone and its billing contacts' emails (the 2021 phishing targets)."""
    sealed = customer_channel(session, customer_id)
    if sealed is None:
        return _Channel()
    email_sealed, phone_sealed = sealed
    try:
        owner_key = keyring.for_owner(session, customer_id)
    except KeyShredded:
        # Erased customer (crypto-shredded): nothing to contact, and nothing left to expose.
        return _Channel()
    email = owner_key.open(email_sealed, aad_for("customers", "email_sealed", customer_id))
    phone = (
        owner_key.open(phone_sealed, aad_for("customers", "phone_sealed", customer_id))
        if phone_sealed is not None
        else None
    )
    emails = tuple(
        owner_key.open(sealed_email, aad_for("contacts", "email_sealed", contact_id))
        for contact_id, sealed_email in billing_contacts(session, customer_id)
    )
    return _Channel(email, phone, emails)


def export_notifications(
    session: Session,
    keyring: Keyring,
    incident: Incident,
    *,
    actor: Actor,
    export_format: ExportFormat = ExportFormat.CSV,
) -> list[NotificationRecord]:
    """The notification records of `incident`, contact channels decrypted now; audited as an export."""
    if not _may_export(actor):
        record(
            session,
            actor=actor,
            action=AuditAction.EXPORT_CREATED,
            outcome=Outcome.DENIED,
            target_type="incident",
            target_id=str(incident.id),
            reason="only a signed-in security officer or the CLI operator may export contacts",
        )
        raise PermissionDenied()
    report = compute_blast_radius(session, query_of(session, incident))
    if report.digest != bytes(incident.report_digest):
        record(
            session,
            actor=actor,
            action=AuditAction.EXPORT_CREATED,
            outcome=Outcome.FAILED,
            target_type="incident",
            target_id=str(incident.id),
            reason="report digest differs from the recorded one",
        )
        raise IncidentChanged()
    records = [
        _record_for(customer, _open_channel(session, keyring, customer.customer_id)) for customer in report.customers
    ]
    record(
        session,
        actor=actor,
        action=AuditAction.EXPORT_CREATED,
        target_type="incident",
        target_id=str(incident.id),
        subjects=[Subject(customer.customer_id, None, Exposure.REVEALED) for customer in report.customers],
        fields=["email", "phone", "contacts"],
        detail={"kind": "customer_notifications", "format": str(export_format), "records": len(records)},
    )
    return records


_PHONE_CHARS = frozenset("+-0123456789 ()./")


def _cell(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection); phone numbers keep their leading '+'."""
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not set(text) <= _PHONE_CHARS):
        return "'" + text
    return text


def render(records: Sequence[NotificationRecord], export_format: ExportFormat) -> str:
    """CSV with a header row (lists joined by '; ') or a JSON array."""
    if export_format is ExportFormat.JSON:
        return json.dumps([item.as_dict() for item in records], indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for item in records:
        values = item.as_dict()
        writer.writerow([_cell(values[column]) for column in EXPORT_COLUMNS])
    return buffer.getvalue()
