"""Blast radius: exactly which customers an account or session exposed, computed from the audit subjects.

Every protected read records the customers (and cases) it put on screen, with an exposure level; lists and
searches record every id they returned. The report is therefore one pass over one actor's events in a window
and their subjects, bounded by the chain head it was computed against so it can be recomputed exactly later
(docs/adr/0600-blast-radius-from-audit-subjects.md, docs/adr/0601-blast-radius-index-design.md).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, DateTime, Engine, Text, and_, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from casevault.audit.encoding import canonical_json
from casevault.audit.events import Exposure, Outcome
from casevault.audit.models import AuditCheckpoint, AuditEvent, AuditSubject
from casevault.audit.verify import verify
from casevault.db.base import utcnow
from casevault.incident.read_path import case_facts, customer_facts

__all__ = [
    "BlastModel",
    "BlastQuery",
    "BlastRadiusReport",
    "ChainStatus",
    "CustomerExposure",
    "FieldExposure",
    "Share",
    "compute_blast_radius",
]

# How far an exposure went; `written` counts as opened (the writer had the record in front of them).
_RANK = {Exposure.LISTED: 1, Exposure.OPENED: 2, Exposure.WRITTEN: 2, Exposure.REVEALED: 3}
_LEVELS = (Exposure.LISTED, Exposure.OPENED, Exposure.REVEALED)
# Structured fields and the entity type their values are; free text holds masked tokens of any type.
_FIELD_ENTITIES = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "name": "PERSON",
    "contacts": "CONTACT_DETAILS",
    "address": "LOCATION",
    "ip": "IP_ADDRESS",
}
_FREE_TEXT = "FREE_TEXT"
# IN lists are chunked: SQLite caps bound parameters, and huge lists plan badly on PostgreSQL.


class BlastModel(StrEnum):
    """Which exposures count: the whole account, only named sessions, or also what appeared in lists."""

    ACCOUNT = "account"
    SESSION = "session"
    SCREEN = "screen"


@dataclass(frozen=True, slots=True)
class BlastQuery:
    """Resolved parameters: `until` is never open and `head_seq` bounds the events, so reruns are exact."""

    staff_id: uuid.UUID
    username: str
    model: BlastModel
    sessions: tuple[str, ...]
    since: datetime | None
    until: datetime
    head_seq: int
    head_hash: bytes

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (what an incident record keeps)."""
        return {
            "actor": self.username,
            "staff_id": str(self.staff_id),
            "model": str(self.model),
            "sessions": list(self.sessions),
            "since": _iso(self.since),
            "until": _iso(self.until),
            "head_seq": self.head_seq,
            "head_hash": self.head_hash.hex(),
        }


@dataclass(frozen=True, slots=True)
class FieldExposure:
    """One field of a customer's records and how it was shown: masked, revealed in clear, or written."""

    name: str
    shown: str
    entity_type: str


@dataclass(frozen=True, slots=True)
class CustomerExposure:
    """Everything the actor's events exposed of one customer. Holds references and labels, never PII."""

    customer_id: uuid.UUID
    reference: str
    country: str
    sector: str
    exposure: Exposure
    wrote: bool
    cases: tuple[str, ...]
    fields: tuple[FieldExposure, ...]
    first_seen: datetime
    last_seen: datetime
    events: int
    sessions: tuple[str, ...]
    ip_prefixes: tuple[str, ...]

    @property
    def revealed(self) -> bool:
        """A value was shown in clear: the highest exposure, flagged first in every output."""
        return self.exposure is Exposure.REVEALED

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": str(self.customer_id),
            "reference": self.reference,
            "country": self.country,
            "sector": self.sector,
            "exposure": str(self.exposure),
            "revealed": self.revealed,
            "wrote": self.wrote,
            "cases": list(self.cases),
            "fields": [{"name": f.name, "shown": f.shown, "entity_type": f.entity_type} for f in self.fields],
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "events": self.events,
            "sessions": list(self.sessions),
            "ip_prefixes": list(self.ip_prefixes),
        }


@dataclass(frozen=True, slots=True)
class Share:
    """A breakdown row: how many affected customers fall under `key`, and their share of all affected."""

    key: str
    customers: int
    share: float

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "customers": self.customers, "share": self.share}


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """What verify() said about the audit chain, and whether a break touches the report's window."""

    checked: bool
    ok: bool | None = None
    problem: str | None = None
    first_bad_seq: int | None = None
    message: str = "not verified (skipped)"
    affects_window: bool = False

    @property
    def broken(self) -> bool:
        return self.checked and not self.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "problem": self.problem,
            "first_bad_seq": self.first_bad_seq,
            "message": self.message,
            "affects_window": self.affects_window,
        }


@dataclass(frozen=True)
class BlastRadiusReport:
    """The blast radius of one query; `digest` covers everything except when it was computed and the chain check."""

    query: BlastQuery
    computed_at: datetime
    checkpoint_seq: int | None
    chain: ChainStatus
    customers: tuple[CustomerExposure, ...]
    by_country: tuple[Share, ...]
    by_sector: tuple[Share, ...]
    by_exposure: tuple[Share, ...]
    cases: int
    events: int
    summary: str
    digest: bytes = field(default=b"")

    @property
    def revealed_count(self) -> int:
        return sum(1 for customer in self.customers if customer.revealed)

    def body(self) -> dict[str, Any]:
        """The facts the digest covers (stable for the same query and chain head)."""
        return {
            "query": self.query.as_dict(),
            "customers": [customer.as_dict() for customer in self.customers],
            "by_country": [row.as_dict() for row in self.by_country],
            "by_sector": [row.as_dict() for row in self.by_sector],
            "by_exposure": [row.as_dict() for row in self.by_exposure],
            "cases": self.cases,
            "events": self.events,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready report (CLI --format json, API)."""
        return {
            "summary": self.summary,
            "chain": self.chain.as_dict(),
            "computed_at": _iso(self.computed_at),
            "checkpoint_seq": self.checkpoint_seq,
            "customers_affected": len(self.customers),
            "customers_revealed": self.revealed_count,
            "digest": self.digest.hex(),
            **self.body(),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _digest(body: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_json(body).encode("utf-8")).digest()


def _exposures_for(model: BlastModel) -> tuple[str, ...]:
    counted = [Exposure.OPENED, Exposure.REVEALED, Exposure.WRITTEN]
    if model is BlastModel.SCREEN:
        counted.append(Exposure.LISTED)
    return tuple(str(level) for level in counted)


def _entity_type(field_name: str) -> tuple[str, str]:
    """(field, entity type): `description:EMAIL_ADDRESS` names a revealed token's type; plain names map."""
    for separator in (":", "."):
        base, _, suffix = field_name.partition(separator)
        if suffix and suffix.isupper():
            return base, suffix
    return field_name, _FIELD_ENTITIES.get(field_name, _FREE_TEXT)


def _shown(exposure: Exposure) -> str:
    if exposure is Exposure.REVEALED:
        return "revealed"
    return "written" if exposure is Exposure.WRITTEN else "masked"


_SHOWN_RANK = {"masked": 1, "written": 2, "revealed": 3}


def _filters(query: BlastQuery) -> list[ColumnElement[bool]]:
    e, s = AuditEvent.__table__.c, AuditSubject.__table__.c
    conditions: list[ColumnElement[bool]] = [
        e.actor_id == query.staff_id,
        e.occurred_at < query.until,
        e.seq <= query.head_seq,
        # A denied read exposed nothing.
        e.outcome == str(Outcome.ALLOWED),
        s.exposure.in_(_exposures_for(query.model)),
    ]
    if query.since is not None:
        conditions.append(e.occurred_at >= query.since)
    if query.sessions:
        conditions.append(e.session_ref.in_(query.sessions))
    return conditions


@dataclass
class _Accumulator:
    """Raw facts about one customer, gathered row by row with cheap set operations and folded once at the end."""

    kinds: set[tuple[str, str | None]] = field(default_factory=set)  # (exposure, fields JSON)
    cases: set[uuid.UUID] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    sessions: set[str | None] = field(default_factory=set)
    ips: set[str | None] = field(default_factory=set)
    events: set[int] = field(default_factory=set)

    def merge(self, other: _Accumulator) -> None:
        """Take in the rows another accumulator saw (subjects that named only a case, once its customer is known)."""
        self.kinds |= other.kinds
        self.cases |= other.cases
        self.sessions |= other.sessions
        self.ips |= other.ips
        self.events |= other.events
        for moment in (other.first, other.last):
            if moment is not None:
                self.first = moment if self.first is None or moment < self.first else self.first
                self.last = moment if self.last is None or moment > self.last else self.last

    def fold(self, parsed: dict[str | None, list[str]]) -> tuple[Exposure, bool, tuple[FieldExposure, ...]]:
        """Highest level, whether the actor wrote, and each (field, entity type) with how it was shown."""
        rank, wrote = 0, False
        shown_fields: dict[tuple[str, str], str] = {}
        for exposure_text, fields_json in self.kinds:
            exposure = Exposure(exposure_text)
            rank = max(rank, _RANK[exposure])
            wrote = wrote or exposure is Exposure.WRITTEN
            shown = _shown(exposure)
            if fields_json not in parsed:
                parsed[fields_json] = _parse_fields(fields_json)
            for raw in parsed[fields_json]:
                key = _entity_type(raw)
                previous = shown_fields.get(key)
                if previous is None or _SHOWN_RANK[shown] > _SHOWN_RANK[previous]:
                    shown_fields[key] = shown
        level = next(level for level in reversed(_LEVELS) if _RANK[level] == rank)
        fields = tuple(FieldExposure(name, shown, entity) for (name, entity), shown in sorted(shown_fields.items()))
        return level, wrote, fields


def _utc(value: datetime) -> datetime:
    """SQLite returns naive UTC text-parsed datetimes, PostgreSQL aware ones in the session time zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_fields(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def _shares(counts: Counter[str], total: int, *, keys: Sequence[str] = ()) -> tuple[Share, ...]:
    for key in keys:
        counts.setdefault(key, 0)
    ordered = (
        sorted(counts.items(), key=lambda item: (-item[1], item[0])) if not keys else [(k, counts[k]) for k in keys]
    )
    return tuple(Share(key, count, round(count / total, 4) if total else 0.0) for key, count in ordered)


def _top(shares: Sequence[Share], limit: int = 4) -> str:
    parts = [f"{row.key} {row.share:.0%}" for row in shares[:limit] if row.customers]
    if len(shares) > limit:
        parts.append(f"{len(shares) - limit} more")
    return ", ".join(parts)


def _summary(
    query: BlastQuery, report_customers: int, by: dict[str, tuple[Share, ...]], cases: int, chain: ChainStatus
) -> str:
    scope = f"sessions {', '.join(query.sessions)}" if query.sessions else "all sessions"
    window = f"{_iso(query.since) or 'start of trail'} to {_iso(query.until)}"
    head = f"audit seq <= {query.head_seq}"
    if chain.broken:
        integrity = f"WARNING: AUDIT CHAIN BROKEN ({chain.problem} at seq {chain.first_bad_seq})"
        integrity += "; figures may be incomplete" if chain.affects_window else " after the window"
    elif chain.checked:
        integrity = "audit chain verified"
    else:
        integrity = "audit chain not verified"
    if report_customers == 0:
        return (
            f"Account {query.username} ({query.model} model, {scope}), {window}: no customers exposed; "
            f"{head}; {integrity}."
        )
    levels = {row.key: row.customers for row in by["exposure"]}
    return (
        f"Account {query.username} ({query.model} model, {scope}), {window}: {report_customers} customers exposed "
        f"({levels.get('revealed', 0)} revealed, {levels.get('opened', 0)} opened, {levels.get('listed', 0)} listed) "
        f"across {cases} cases; by country {_top(by['country'])}; by sector {_top(by['sector'])}; {head}; {integrity}."
    )


def _chain_status(session: Session, query: BlastQuery, keys: Iterable[Ed25519PublicKey] | None) -> ChainStatus:
    if keys is None:
        return ChainStatus(checked=False)
    bind = session.get_bind()
    result = verify(bind if isinstance(bind, Engine) else bind.engine, keys=keys)
    if result.ok:
        return ChainStatus(checked=True, ok=True, message=result.message)
    # verify() stops at the first problem: everything after it is unverified, so a break before the window's
    # last event touches the report; a break after it does not.
    window_end = session.execute(
        select(func.max(AuditEvent.seq)).where(AuditEvent.occurred_at < query.until, AuditEvent.seq <= query.head_seq)
    ).scalar_one_or_none()
    bad = result.first_bad_seq
    affects = bad is None or window_end is None or bad <= int(window_end)
    return ChainStatus(
        checked=True,
        ok=False,
        problem=str(result.problem) if result.problem else None,
        first_bad_seq=bad,
        message=result.message[:200],
        affects_window=affects,
    )


def compute_blast_radius(
    session: Session, query: BlastQuery, *, keys: Iterable[Ed25519PublicKey] | None = None
) -> BlastRadiusReport:
    """Compute the report for `query`; with `keys`, also verify the audit chain (a break is reported, not raised)."""
    e, s = AuditEvent.__table__.c, AuditSubject.__table__.c
    joined = AuditEvent.__table__.join(AuditSubject.__table__, s.event_seq == e.seq)
    conditions = [*_filters(query), or_(s.customer_id.isnot(None), s.case_id.isnot(None))]
    fields_text = cast(e.fields, Text)
    # The column's UTC type decorator runs per row; only each customer's first and last time need it (_utc).
    raw_time = type_coerce(e.occurred_at, DateTime(timezone=True))
    # One pass over the actor's subject rows in the window: grouping in SQL would need a second and third pass
    # over the join for exact distinct-event counts, and the join is what costs (ADR 0601). Fetched in one go:
    # a server-side cursor costs a round trip per batch, more than the rows weigh.
    rows = session.execute(
        select(s.customer_id, s.case_id, s.exposure, e.session_ref, e.ip_prefix, fields_text, raw_time, e.seq)
        .select_from(joined)
        .where(and_(*conditions))
    )
    accumulators: defaultdict[uuid.UUID, _Accumulator] = defaultdict(_Accumulator)
    # A subject may name only the case; its customer is the case's, learnt below with the case numbers (the
    # incident read path, since row-level security shows a security officer no case).
    by_case_only: defaultdict[uuid.UUID, _Accumulator] = defaultdict(_Accumulator)
    seen_events: set[int] = set()
    # The hot loop: tens of thousands of rows for an actor who scrolled through lists; only set and compare ops.
    for customer_id, case_id, exposure, session_ref, ip_prefix, fields_json, moment, seq in rows:
        acc = accumulators[customer_id] if customer_id is not None else by_case_only[case_id]
        acc.kinds.add((exposure, fields_json))
        if case_id is not None:
            acc.cases.add(case_id)
        if acc.first is None or moment < acc.first:
            acc.first = moment
        if acc.last is None or moment > acc.last:
            acc.last = moment
        acc.sessions.add(session_ref)
        acc.ips.add(ip_prefix)
        acc.events.add(seq)
        seen_events.add(seq)
    total_events = len(seen_events)
    cases_seen = {cid for acc in (*accumulators.values(), *by_case_only.values()) for cid in acc.cases}
    case_rows = case_facts(session, cases_seen)
    for case_id, acc in by_case_only.items():
        # A case deleted since leaves no customer to attribute its rows to.
        if case_id in case_rows:
            accumulators[case_rows[case_id][1]].merge(acc)
    numbers = {case_id: number for case_id, (number, _customer) in case_rows.items()}
    facts = customer_facts(session, accumulators)

    customers: list[CustomerExposure] = []
    parsed: dict[str | None, list[str]] = {}
    for customer_id, acc in accumulators.items():
        reference, country, sector = facts.get(customer_id, ("(deleted)", "??", "(unknown)"))
        level, wrote, fields = acc.fold(parsed)
        # Every accumulator saw at least one row.
        assert acc.first is not None
        assert acc.last is not None
        customers.append(
            CustomerExposure(
                customer_id=customer_id,
                reference=reference,
                country=country,
                sector=sector,
                exposure=level,
                wrote=wrote,
                cases=tuple(sorted(numbers.get(cid, f"(deleted {cid.hex[:8]})") for cid in acc.cases)),
                fields=fields,
                first_seen=_utc(acc.first),
                last_seen=_utc(acc.last),
                events=len(acc.events),
                sessions=tuple(sorted(ref for ref in acc.sessions if ref)),
                ip_prefixes=tuple(sorted(ip for ip in acc.ips if ip)),
            )
        )
    # Revealed first, then opened, then listed; within a level by reference.
    customers.sort(key=lambda c: (-_RANK[c.exposure], c.reference, str(c.customer_id)))

    total = len(customers)
    by = {
        "country": _shares(Counter(c.country for c in customers), total),
        "sector": _shares(Counter(c.sector for c in customers), total),
        "exposure": _shares(
            Counter(str(c.exposure) for c in customers), total, keys=[str(level) for level in reversed(_LEVELS)]
        ),
    }
    cases = len({number for c in customers for number in c.cases})
    chain = _chain_status(session, query, keys)
    checkpoint = session.execute(
        select(func.max(AuditCheckpoint.seq)).where(AuditCheckpoint.seq <= query.head_seq)
    ).scalar_one_or_none()
    report = BlastRadiusReport(
        query=query,
        computed_at=utcnow(),
        checkpoint_seq=None if checkpoint is None else int(checkpoint),
        chain=chain,
        customers=tuple(customers),
        by_country=by["country"],
        by_sector=by["sector"],
        by_exposure=by["exposure"],
        cases=cases,
        events=total_events,
        summary=_summary(query, total, by, cases, chain),
    )
    return replace(report, digest=_digest(report.body()))
