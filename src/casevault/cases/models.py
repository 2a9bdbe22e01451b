"""Organisations, customers, contacts, queues, cases and notes.

PII-bearing values are stored only as `Sealed` ciphertext (AES-GCM under the customer's data key, associated
data = table/column/row id); free text is also stored redacted (typed per-customer tokens), and only the
redacted copy is searchable. Country and sector stay in clear: blast-radius breakdowns need them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casevault.db.base import Base, Sealed, UTCDateTime, enum_column, utcnow

__all__ = [
    "Case",
    "CaseCounter",
    "CaseSearchDocument",
    "CaseStatus",
    "Contact",
    "ContactKind",
    "Customer",
    "Note",
    "NoteVisibility",
    "Organization",
    "Priority",
    "Queue",
    "QueueMembership",
    "QueueRole",
    "RedactionVault",
]


class CaseStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ContactKind(StrEnum):
    BILLING = "billing"
    TECHNICAL = "technical"


class NoteVisibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class QueueRole(StrEnum):
    MEMBER = "member"
    SUPERVISOR = "supervisor"


class Organization(Base):
    """A customer's company; its name is business data, not personal data."""

    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    sector: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Customer(Base):
    """A person who opens cases; every personal field is sealed, the email also has a blind index."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. CUST-000123, not personal
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    name_sealed: Mapped[bytes] = mapped_column(Sealed())
    email_sealed: Mapped[bytes] = mapped_column(Sealed())
    email_index: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    phone_sealed: Mapped[bytes | None] = mapped_column(Sealed(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"Customer(reference={self.reference!r})"


class Contact(Base):
    """A billing or technical contact of a customer (the 2021 phishing targets); sealed like customers."""

    __tablename__ = "contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ContactKind] = mapped_column(enum_column(ContactKind, 16))
    name_sealed: Mapped[bytes] = mapped_column(Sealed())
    email_sealed: Mapped[bytes] = mapped_column(Sealed())
    email_index: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    phone_sealed: Mapped[bytes | None] = mapped_column(Sealed(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"Contact(kind={self.kind!s})"


class Queue(Base):
    """A team's work queue."""

    __tablename__ = "queues"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")


class QueueMembership(Base):
    """Staff membership of a queue; supervisors of a queue see all its cases."""

    __tablename__ = "queue_memberships"

    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[QueueRole] = mapped_column(enum_column(QueueRole, 16), default=QueueRole.MEMBER)


class CaseCounter(Base):
    """Per-year sequence behind case numbers like CV-2026-000123 (row-locked while incremented)."""

    __tablename__ = "case_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """A support case. Free text is stored sealed (for reveal) and redacted (for views and search)."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_assignee_status", "assignee_id", "status"),
        Index("ix_cases_queue_status", "queue_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"), index=True)
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), default=None)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus, 16), default=CaseStatus.NEW)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, 16), default=Priority.NORMAL)
    subject_sealed: Mapped[bytes] = mapped_column(Sealed())
    subject_redacted: Mapped[str] = mapped_column(String(500))
    description_sealed: Mapped[bytes] = mapped_column(Sealed())
    description_redacted: Mapped[str] = mapped_column(Text)
    resolution_sealed: Mapped[bytes | None] = mapped_column(Sealed(), default=None)
    resolution_redacted: Mapped[str | None] = mapped_column(Text, default=None)
    remarks_sealed: Mapped[bytes | None] = mapped_column(Sealed(), default=None)
    remarks_redacted: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    def __repr__(self) -> str:
        return f"Case(number={self.number!r}, status={self.status!s})"


class Note(Base):
    """A public reply or an internal note on a case; the body is sealed and redacted like case text."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_case_created", "case_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"), default=None)
    visibility: Mapped[NoteVisibility] = mapped_column(enum_column(NoteVisibility, 16))
    body_sealed: Mapped[bytes] = mapped_column(Sealed())
    body_redacted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"Note(visibility={self.visibility!s})"


class RedactionVault(Base):
    """Per-case sealed map from redaction tokens to original values, used only by an audited reveal."""

    __tablename__ = "redaction_vaults"
    __table_args__ = (UniqueConstraint("case_id", "source"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # Which text the tokens came from, e.g. "case.description" or "note:<uuid>".
    source: Mapped[str] = mapped_column(String(64))
    tokens_sealed: Mapped[bytes] = mapped_column(Sealed())


class CaseSearchDocument(Base):
    """The searchable text of one case: only its redacted subject, description, resolution, remarks and notes.

    The full-text index lives beside it and is dialect-specific (created by migration 0003_cases): an FTS5
    table kept in step by triggers on SQLite, a GIN index over `to_tsvector('simple', body)` on PostgreSQL.
    The integer id is the FTS5 rowid; SQLite keeps an INTEGER PRIMARY KEY stable across VACUUM.
    """

    __tablename__ = "case_search_documents"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
