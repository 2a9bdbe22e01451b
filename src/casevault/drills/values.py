"""The PII values a deployment holds, learned by decrypting them with the operator's key (or from a list).

Learning them by decryption means the drill never depends on a plaintext list of values kept anywhere (such a
list in the data directory would itself be the leak). Values stay in memory only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.cases.models import Case, Contact, Customer, Note, Organization, Queue, RedactionVault
from casevault.crypto.keyring import Keyring, KeyShredded, OwnerKey, SealError, aad_for
from casevault.crypto.providers import UnwrapError
from casevault.db.session import Database
from casevault.drills.errors import DrillError
from casevault.identity.models import Staff

__all__ = ["KnownValues", "decrypt_known_values", "read_values_file"]


@dataclass
class KnownValues:
    """(value, kind) pairs, e.g. ("…", "contact.email"); `unreadable` counts sealed values that did not open.

    `clear_terms` are business data stored in clear by design (organisation, staff and queue names): a value
    that only repeats one of them (a redactor token for the word "Crestview" of "Crestview Labs Ltd", or the
    agent's own first name in a sign-off) reveals nothing the store did not already show, so it is not searched.
    """

    items: list[tuple[str, str]] = field(default_factory=list, repr=False)
    unreadable: int = 0
    clear_terms: list[str] = field(default_factory=list, repr=False)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"KnownValues(count={len(self.items)}, unreadable={self.unreadable})"


class _Opener:
    """Opens sealed columns with the owner's data key, counting (not raising on) values that cannot be opened."""

    def __init__(self, session: Session, keyring: Keyring, known: KnownValues) -> None:
        self._session = session
        self._keyring = keyring
        self._known = known

    def key(self, owner_id: uuid.UUID) -> OwnerKey | None:
        try:
            return self._keyring.for_owner(self._session, owner_id)
        except (KeyShredded, UnwrapError):
            return None

    def open(self, owner_id: uuid.UUID, table: str, column: str, row_id: uuid.UUID, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        key = self.key(owner_id)
        if key is None:
            self._known.unreadable += 1
            return None
        try:
            return key.open(sealed, aad_for(table, column, row_id))
        except SealError:
            self._known.unreadable += 1
            return None

    def add(self, value: str | None, kind: str) -> None:
        if value:
            self._known.items.append((value, kind))

    def add_text(self, value: str | None, redacted: str | None, kind: str) -> None:
        """Free text counts as a value only where redaction changed it; otherwise it is stored as-is by design."""
        if value and value != redacted:
            self._known.items.append((value, kind))


def decrypt_known_values(db: Database, keyring: Keyring) -> KnownValues:
    """Every customer and contact field, changed free text, note body and vault token value, decrypted."""
    known = KnownValues()
    with db.sessions() as session:
        opener = _Opener(session, keyring, known)
        for customer in session.scalars(select(Customer)):
            for column in ("name_sealed", "email_sealed", "phone_sealed"):
                value = opener.open(customer.id, "customers", column, customer.id, getattr(customer, column))
                opener.add(value, f"customer.{column.removesuffix('_sealed')}")
        for contact in session.scalars(select(Contact)):
            for column in ("name_sealed", "email_sealed", "phone_sealed"):
                value = opener.open(contact.customer_id, "contacts", column, contact.id, getattr(contact, column))
                opener.add(value, f"contact.{column.removesuffix('_sealed')}")
        for case in session.scalars(select(Case)):
            for name in ("subject", "description", "resolution", "remarks"):
                value = opener.open(
                    case.customer_id, "cases", f"{name}_sealed", case.id, getattr(case, f"{name}_sealed")
                )
                opener.add_text(value, getattr(case, f"{name}_redacted"), f"case.{name}")
        notes = select(Note, Case.customer_id).join(Case, Case.id == Note.case_id)
        for note, customer_id in session.execute(notes):
            value = opener.open(customer_id, "notes", "body_sealed", note.id, note.body_sealed)
            opener.add_text(value, note.body_redacted, "note.body")
        vaults = select(RedactionVault, Case.customer_id).join(Case, Case.id == RedactionVault.case_id)
        for vault, customer_id in session.execute(vaults):
            payload = opener.open(customer_id, "redaction_vaults", "tokens_sealed", vault.id, vault.tokens_sealed)
            for token, value in _token_map(payload):
                opener.add(value, f"vault.{_entity_of(token)}")
        known.clear_terms.extend(session.scalars(select(Organization.name)))
        known.clear_terms.extend(session.scalars(select(Queue.name)))
        for username, display_name in session.execute(select(Staff.username, Staff.display_name)):
            known.clear_terms += [username, display_name]
    return known


def _token_map(payload: str | None) -> list[tuple[str, str]]:
    if not payload:
        return []
    try:
        loaded = json.loads(payload)
    except ValueError:
        return []
    if not isinstance(loaded, dict):
        return []
    return [(str(token), str(value)) for token, value in loaded.items()]


def _entity_of(token: str) -> str:
    """`[EMAIL_ADDRESS:7f3a…]` -> `EMAIL_ADDRESS`."""
    inner = token.strip("[]<>")
    entity = inner.split(":", 1)[0]
    return entity if entity.replace("_", "").isalnum() else "TOKEN"


def read_values_file(path: Path) -> KnownValues:
    """One value per line, or `kind<TAB>value`; blank lines are ignored."""
    known = KnownValues()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DrillError(f"cannot read values file {path}: {type(exc).__name__}") from exc
    for line in text.splitlines():
        if not line.strip():
            continue
        kind, tab, value = line.partition("\t")
        known.items.append((value, kind or "listed") if tab else (line, "listed"))
    return known
