"""Reveal one masked value of a case in clear: one field or one token at a time, with a reason, audited.

The caller has already obtained the case through the case access function (`cases.access.case_for`) and a
session stepped up within the window; this module asks the Cedar `case:reveal` policy (step-up, reason, and
the case scope or a live grant / break-glass session), opens exactly one sealed value and audits the reveal with
the entity type, the field or token and the reason's length — never the value, never the reason itself.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Final, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.budgets import charge_reveal
from casevault.access.decisions import Denied
from casevault.access.grants import Coverage, coverage_of, reason_ok
from casevault.access.permissions import Permission
from casevault.access.policy import CaseFacts, RequestFacts, case_decision, load_staff_facts, shared_engine
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.trail import Subject, record
from casevault.crypto.keyring import Keyring, KeyShredded, aad_for
from casevault.errors import Conflict, InvalidInput, NotFound

__all__ = ["RevealTarget", "RevealedValue", "parse_target", "reveal_value"]

TOKEN: Final = re.compile(r"\[(?P<entity>[A-Z][A-Z0-9_]{1,40}):(?P<digest>[0-9a-f]{6,64})\]")
FIELD: Final = re.compile(r"(?:customer|contact:(?P<contact>[0-9a-fA-F-]{36}))\.(?P<attribute>name|email|phone)")
_ENTITY_OF_ATTRIBUTE: Final = {"name": "PERSON", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER"}

# The tables a reveal opens, by name only: `access` sits below `cases` and must not import its models.
_customers = sa.table(
    "customers",
    sa.column("id", sa.Uuid()),
    sa.column("name_sealed", sa.LargeBinary()),
    sa.column("email_sealed", sa.LargeBinary()),
    sa.column("phone_sealed", sa.LargeBinary()),
)
_contacts = sa.table(
    "contacts",
    sa.column("id", sa.Uuid()),
    sa.column("customer_id", sa.Uuid()),
    sa.column("name_sealed", sa.LargeBinary()),
    sa.column("email_sealed", sa.LargeBinary()),
    sa.column("phone_sealed", sa.LargeBinary()),
)
_vaults = sa.table(
    "redaction_vaults",
    sa.column("id", sa.Uuid()),
    sa.column("case_id", sa.Uuid()),
    sa.column("source", sa.String()),
    sa.column("tokens_sealed", sa.LargeBinary()),
)


class RevealableCase(Protocol):
    """A case row obtained through the case access function (the `cases.models.Case` row satisfies it)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def number(self) -> str: ...
    @property
    def queue_id(self) -> uuid.UUID: ...
    @property
    def customer_id(self) -> uuid.UUID: ...
    @property
    def assignee_id(self) -> uuid.UUID | None: ...


@dataclass(frozen=True, slots=True)
class RevealTarget:
    """What to reveal: a redaction token from the case's text, or a structured field of its customer or a contact."""

    token: str | None = None
    attribute: str | None = None  # name, email or phone
    contact_id: uuid.UUID | None = None  # None with an attribute = the case's customer

    @property
    def entity_type(self) -> str:
        if self.token is not None:
            match = TOKEN.fullmatch(self.token)
            return match.group("entity") if match else "UNKNOWN"
        return _ENTITY_OF_ATTRIBUTE[self.attribute or "name"]

    @property
    def label(self) -> str:
        """The field path or the token, as recorded in the audit log (neither is personal data)."""
        if self.token is not None:
            return self.token
        owner = "customer" if self.contact_id is None else f"contact:{self.contact_id}"
        return f"{owner}.{self.attribute}"


@dataclass(frozen=True, slots=True)
class RevealedValue:
    """One clear value; deliberately without a readable repr."""

    target: RevealTarget
    value: str

    def __repr__(self) -> str:
        return f"RevealedValue({self.target.entity_type})"


def parse_target(token: str | None, field: str | None) -> RevealTarget:
    """Exactly one of `token` (`[EMAIL_ADDRESS:0123456789ab]`) or `field` (`customer.email`, `contact:<id>.phone`)."""
    if (token is None) == (field is None):
        raise InvalidInput("give exactly one of token or field")
    if token is not None:
        if not TOKEN.fullmatch(token):
            raise InvalidInput("token: not a redaction token")
        return RevealTarget(token=token)
    match = FIELD.fullmatch(field or "")
    if match is None:
        raise InvalidInput("field: expected customer.<name|email|phone> or contact:<id>.<name|email|phone>")
    contact = match.group("contact")
    return RevealTarget(attribute=match.group("attribute"), contact_id=uuid.UUID(contact) if contact else None)


def reveal_value(
    session: Session,
    keyring: Keyring,
    case: RevealableCase,
    target: RevealTarget,
    *,
    reason: str,
    stepped_up: bool,
    actor: Actor,
) -> RevealedValue:
    """Open one value of a case the actor already reached; NotFound when the policy says no or nothing matches."""
    coverage = Coverage() if actor.staff_id is None else coverage_of(session, actor.staff_id, case_id=case.id)
    exception = coverage.context
    context = RequestFacts(
        step_up=stepped_up, reason=reason_ok(reason), grant=exception.grant, break_glass=exception.break_glass
    )
    facts = CaseFacts.of(case)
    decision = case_decision(shared_engine(), load_staff_facts(session, actor), facts, Permission.CASE_REVEAL, context)
    base_detail: dict[str, object] = {
        "entity_type": target.entity_type,
        "reason_length": len(reason.strip()),
        "via": coverage.via or getattr(decision, "via", "policy"),
        "break_glass": coverage.break_glass_id is not None and coverage.grant_id is None,
    }
    base_detail["token" if target.token is not None else "field"] = target.label
    if isinstance(decision, Denied):
        _deny(session, actor, case, decision.reason, base_detail)
        raise NotFound()
    # Charged before anything is decrypted: over the per-agent reveal budget this raises (and is audited there).
    charge_reveal(session, actor, customer_id=case.customer_id, case_id=case.id)
    try:
        value = _open(session, keyring, case, target)
    except KeyShredded:
        raise Conflict("the customer's data has been erased") from None
    if value is None:
        _deny(session, actor, case, "nothing to reveal for this target", base_detail)
        raise NotFound()
    record(
        session,
        actor=actor,
        action=AuditAction.PII_REVEALED,
        target_type="case",
        target_id=case.number,
        subjects=[Subject(case.customer_id, case.id, Exposure.REVEALED)],
        fields=[target.label],
        detail=base_detail,
    )
    return RevealedValue(target=target, value=value)


def _deny(session: Session, actor: Actor, case: RevealableCase, reason: str, detail: dict[str, object]) -> None:
    record(
        session,
        actor=actor,
        action=AuditAction.PII_REVEALED,
        outcome=Outcome.DENIED,
        target_type="case",
        target_id=case.number,
        reason=reason,
        detail=detail,
    )


def _open(session: Session, keyring: Keyring, case: RevealableCase, target: RevealTarget) -> str | None:
    owner_key = keyring.for_owner(session, case.customer_id)
    if target.token is not None:
        rows = session.execute(
            sa.select(_vaults.c.id, _vaults.c.tokens_sealed).where(_vaults.c.case_id == case.id)
        ).all()
        for vault_id, sealed in rows:
            tokens = json.loads(owner_key.open(sealed, aad_for("redaction_vaults", "tokens_sealed", vault_id)))
            if isinstance(tokens, dict) and target.token in tokens:
                return str(tokens[target.token])
        return None
    attribute = target.attribute or "name"
    if target.contact_id is None:
        table, row_id = _customers, case.customer_id
        row = session.execute(sa.select(table.c[f"{attribute}_sealed"]).where(table.c.id == row_id)).first()
        table_name = "customers"
    else:
        table, row_id = _contacts, target.contact_id
        # A contact of another customer is not part of this case, whoever asks.
        row = session.execute(
            sa.select(table.c[f"{attribute}_sealed"]).where(
                table.c.id == row_id, table.c.customer_id == case.customer_id
            )
        ).first()
        table_name = "contacts"
    if row is None or row[0] is None:
        return None
    return owner_key.open(row[0], aad_for(table_name, f"{attribute}_sealed", row_id))
