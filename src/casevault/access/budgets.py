"""Read budgets: the inline containment of a stolen session.

Every access function that shows customer data charges the distinct customers it exposes to the acting staff
member (`charge_reads`); reveals are charged separately (`charge_reveal`). Counts come from the audit trail
itself (the events of the last hour and day of this actor, joined to the customers they exposed) plus the
customers charged by the unit of work still in flight, whose events are staged until commit. Over a soft limit
the next read of a new customer needs a fresh step-up (the first refusal in an hour raises a medium alert;
a few refusals with no step-up in between count as the hard limit); over a hard limit the account is
suspended, its sessions and tokens revoked, a high alert raised, and the read refused (see docs/adr/0580-…,
0581-…, 0582-…, 0584-…).

This module sits in the access layer, below identity and detection, so it changes their rows with plain
statements on their tables (as `access.policy` reads them) instead of importing their services.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, SessionTransaction

from casevault.access.actor import Actor, AuthMethod
from casevault.audit.events import AuditAction, Exposure, Outcome
from casevault.audit.models import AuditEvent, AuditSubject
from casevault.audit.trail import Subject, record
from casevault.config import ReadBudgetLimits, Settings
from casevault.db.base import UTCDateTime, utcnow
from casevault.db.session import Database
from casevault.db.statements import FixedStatement
from casevault.errors import PermissionDenied, RateLimited, StepUpRequired

__all__ = [
    "BudgetConfig",
    "ReadBudgetExceeded",
    "ReadUsage",
    "RevealBudgetExceeded",
    "charge_reads",
    "charge_reveal",
    "enable_read_budgets",
    "read_usage",
    "reveals_left",
]

log = logging.getLogger("casevault.access.budgets")

_CONFIG: Final = "casevault.access.read_budgets"
_IN_FLIGHT: Final = "casevault.access.read_budgets.in_flight"
_HOUR: Final = timedelta(hours=1)
_DAY: Final = timedelta(days=1)
_OPENED: Final = (str(Exposure.OPENED), str(Exposure.REVEALED))
_SEEN: Final = (str(Exposure.LISTED), *_OPENED)
# The alert kind detection.models.AlertKind declares for this (this layer cannot import it).
_ALERT_KIND: Final = "budget.exceeded"
_SOFT_REFUSAL: Final = "read budget soft limit"

# Core views of the audit tables: an ORM query on them would chain the staged events first (audit/trail.py) and
# hold the chain lock for the rest of the request; these statements read only what is committed or flushed.
_events = AuditEvent.__table__
_subjects = AuditSubject.__table__
# Tables of the layers above (identity, detection), touched only to contain an account.
_staff = sa.table("staff", sa.column("id", sa.Uuid()), sa.column("status", sa.String()))
_staff_sessions = sa.table(
    "staff_sessions",
    sa.column("staff_id", sa.Uuid()),
    sa.column("revoked_at", UTCDateTime()),
    sa.column("revoked_reason", sa.String()),
)
_api_tokens = sa.table("api_tokens", sa.column("staff_id", sa.Uuid()), sa.column("revoked_at", UTCDateTime()))
_alerts = sa.table(
    "alerts",
    sa.column("id", sa.Uuid()),
    sa.column("raised_at", UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("severity", sa.String()),
    sa.column("status", sa.String()),
    sa.column("actor_id", sa.Uuid()),
    sa.column("actor_label", sa.String()),
    sa.column("subject_staff_id", sa.Uuid()),
    sa.column("detail", sa.JSON()),
)


class ReadBudgetExceeded(RateLimited):
    """The hard read limit was crossed: the account is contained and the read refused."""

    code = "read_budget_exceeded"
    public_message = "read limit exceeded: your sessions were ended and the security team was alerted"


class RevealBudgetExceeded(RateLimited):
    """Too many values revealed in the last hour; the reveal is refused."""

    code = "reveal_budget_exceeded"
    public_message = "reveal limit reached; try again later"


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """Limits per role, the reveal limit and the step-up window, taken from Settings."""

    by_role: Mapping[str, ReadBudgetLimits]
    reveals_per_hour: int
    step_up_window: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> BudgetConfig:
        return cls(
            by_role=dict(settings.read_budgets),
            reveals_per_hour=settings.reveal_budget_per_hour,
            step_up_window=settings.step_up_window,
        )

    def limits_for(self, role: str | None) -> ReadBudgetLimits:
        """The role's limits; a role without an entry gets the agent's (the strictest by default)."""
        limits = self.by_role.get(str(role)) if role is not None else None
        if limits is None:
            limits = self.by_role.get("agent", ReadBudgetLimits())
        return limits


# Used when enable_read_budgets() was never called: budgets are on by default with the default limits.
_DEFAULT_CONFIG: Final = BudgetConfig.from_settings(Settings.model_construct())


@dataclass(frozen=True, slots=True)
class ReadUsage:
    """Distinct customers charged to one staff member in the rolling hour and day, in-flight reads included."""

    opened_hour: int
    opened_day: int
    listed_hour: int
    listed_day: int

    def over(self, limits: ReadBudgetLimits, level: str) -> list[str]:
        """Names of the limits (`opened_hour` …) this usage exceeds at `level` ("soft" or "hard")."""
        crossed = []
        for name, used in (
            ("opened_hour", self.opened_hour),
            ("opened_day", self.opened_day),
            ("listed_hour", self.listed_hour),
            ("listed_day", self.listed_day),
        ):
            kind, window = name.split("_")
            if used > getattr(limits, f"{kind}_{level}_{window}"):
                crossed.append(name)
        return crossed

    def as_detail(self) -> dict[str, int]:
        return {
            "opened_hour": self.opened_hour,
            "opened_day": self.opened_day,
            "listed_hour": self.listed_hour,
            "listed_day": self.listed_day,
        }


@dataclass
class _InFlight:
    """Customers (and reveals) charged by this unit of work; their audit events are not queryable yet."""

    opened: set[uuid.UUID] = field(default_factory=set)
    listed: set[uuid.UUID] = field(default_factory=set)
    reveals: int = 0


def enable_read_budgets(db: Database, settings: Settings) -> None:
    """Make every session of `db` charge reads against the limits in `settings` (create_app calls this)."""
    info = dict(db.sessions.kw.get("info") or {})
    info[_CONFIG] = BudgetConfig.from_settings(settings)
    db.sessions.configure(info=info)


def _config(session: Session) -> BudgetConfig:
    config = session.info.get(_CONFIG)
    return config if isinstance(config, BudgetConfig) else _DEFAULT_CONFIG


def _exempt(actor: Actor) -> bool:
    # The platform and an operator at the shell hold the key material anyway; actors without a staff id
    # cannot be contained (and reach no case data through the access functions).
    return actor.method in (AuthMethod.CLI, AuthMethod.SYSTEM) or actor.staff_id is None


def _in_flight(session: Session, staff_id: uuid.UUID) -> _InFlight:
    by_staff: dict[uuid.UUID, _InFlight] = session.info.setdefault(_IN_FLIGHT, {})
    return by_staff.setdefault(staff_id, _InFlight())


@event.listens_for(Session, "after_transaction_end")
def _forget_in_flight(session: Session, transaction: SessionTransaction) -> None:
    # Committed events are queryable from now on; rolled-back ones never happened. Either way, forget them.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_IN_FLIGHT, None)


def read_usage(
    session: Session,
    staff_id: uuid.UUID,
    *,
    now: datetime | None = None,
    opened: Iterable[uuid.UUID] = (),
    listed: Iterable[uuid.UUID] = (),
) -> ReadUsage:
    """Distinct customers exposed to `staff_id` in the last hour and day, counting `opened`/`listed` (and this
    unit of work's in-flight charges) as exposed too. One indexed query over the actor's audit events."""
    moment = now or utcnow()
    flight = _in_flight(session, staff_id)
    extra_opened = flight.opened | set(opened)
    extra_listed = flight.listed | extra_opened | set(listed)
    in_hour = _events.c.occurred_at >= moment - _HOUR
    is_opened = _subjects.c.exposure.in_(_OPENED)
    customer = _subjects.c.customer_id

    def distinct_customers(condition: sa.ColumnElement[bool], extra: set[uuid.UUID]) -> sa.ColumnElement[int]:
        # Customers already counted as in flight are left out here and added once below.
        if extra:
            condition = sa.and_(condition, customer.not_in(extra))
        return sa.func.count(sa.distinct(sa.case((condition, customer))))

    row = session.execute(
        sa.select(
            distinct_customers(sa.and_(in_hour, is_opened), extra_opened),
            distinct_customers(is_opened, extra_opened),
            distinct_customers(in_hour, extra_listed),
            distinct_customers(sa.true(), extra_listed),
        )
        .select_from(_subjects.join(_events, _events.c.seq == _subjects.c.event_seq))
        .where(
            _events.c.actor_id == staff_id,
            _events.c.occurred_at >= moment - _DAY,
            _events.c.outcome == str(Outcome.ALLOWED),
            _subjects.c.exposure.in_(_SEEN),
            customer.is_not(None),
        )
    ).one()
    return ReadUsage(
        opened_hour=int(row[0]) + len(extra_opened),
        opened_day=int(row[1]) + len(extra_opened),
        listed_hour=int(row[2]) + len(extra_listed),
        listed_day=int(row[3]) + len(extra_listed),
    )


_PG_OPENED: Final = "(" + ", ".join(f"'{exposure}'" for exposure in _OPENED) + ")"
_PG_SEEN: Final = "(" + ", ".join(f"'{exposure}'" for exposure in _SEEN) + ")"
# The subject's event, found by primary key only: the conditions sit in the select list, so no plan can turn the
# lookup into a scan of the actor's events.
_PG_BY_ACTOR: Final = (
    f"(SELECT e.actor_id = :staff_id AND e.occurred_at >= :since AND e.outcome = '{Outcome.ALLOWED}' "  # noqa: S608
    "FROM audit_events e WHERE e.seq = s.event_seq)"
)


def _exposed_query(customers: sa.ColumnElement[bool]) -> sa.Select[tuple[uuid.UUID, str]]:
    return (
        sa.select(_subjects.c.customer_id, _subjects.c.exposure)
        .select_from(_subjects.join(_events, _events.c.seq == _subjects.c.event_seq))
        .where(
            customers,
            _subjects.c.exposure.in_([sa.literal(exposure) for exposure in _SEEN]),  # fixed, not expanded per call
            _events.c.actor_id == sa.bindparam("staff_id"),
            _events.c.occurred_at >= sa.bindparam("since"),
            _events.c.outcome == str(Outcome.ALLOWED),
        )
        .distinct()
    )


# The probe every read makes, on PostgreSQL (ADR 0458). Per customer asked, two EXISTS walk that customer's subjects
# (ix_audit_subjects_customer) from the actor's first event of the window on, each checked against its event by
# primary key; the plain join above walks every event of the actor in the window instead, which grows with the
# actor's activity (3 ms at 1,000 events an hour, most of a read's PostgreSQL time). Events of the actor that
# committed out of time order before that first event are missed: "not known" sends charge_reads to the exact
# count, so the shortcut can only cost time, never widen a budget.
_PG_EXPOSED_SINCE = """
SELECT c.customer_id,
    EXISTS (SELECT FROM audit_subjects s
            WHERE s.customer_id = c.customer_id AND s.event_seq >= w.first_seq AND s.exposure IN {opened}
              AND {by_actor}),
    EXISTS (SELECT FROM audit_subjects s
            WHERE s.customer_id = c.customer_id AND s.event_seq >= w.first_seq AND s.exposure IN {seen}
              AND {by_actor})
FROM {customers} AS c(customer_id),
    (SELECT (SELECT e.seq FROM audit_events e WHERE e.actor_id = :staff_id AND e.occurred_at >= :since
             ORDER BY e.occurred_at LIMIT 1) AS first_seq) AS w
"""


def _exposed_since_statement(customers: str, customers_type: sa.types.TypeEngine[Any]) -> FixedStatement:
    sql = _PG_EXPOSED_SINCE.format(opened=_PG_OPENED, seen=_PG_SEEN, by_actor=_PG_BY_ACTOR, customers=customers)
    return FixedStatement(
        sa.text(sql).bindparams(
            sa.bindparam("customers", type_=customers_type),
            sa.bindparam("staff_id", type_=sa.Uuid()),
            sa.bindparam("since", type_=UTCDateTime()),
        )
    )


# One customer (a case or customer read) as a scalar: PostgreSQL then settles on a generic plan after a few runs;
# with an array it cannot know the length and re-plans every call (0.2-0.5 ms, more than running it).
_EXPOSED_SINCE_ONE_PG = _exposed_since_statement("(SELECT :customers)", sa.Uuid())
_EXPOSED_SINCE_MANY_PG = _exposed_since_statement("unnest(:customers)", postgresql.ARRAY(sa.Uuid()))


def _exposed_since(
    session: Session, staff_id: uuid.UUID, customers: set[uuid.UUID], *, since: datetime
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Which of `customers` the staff member was shown since `since`: (opened or revealed, shown at all)."""
    if not customers:
        return set(), set()
    params = {"staff_id": staff_id, "since": since}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        if len(customers) == 1:
            found = _EXPOSED_SINCE_ONE_PG.rows(connection, {**params, "customers": next(iter(customers))})
        else:
            found = _EXPOSED_SINCE_MANY_PG.rows(connection, {**params, "customers": sorted(customers)})
        return {row[0] for row in found if row[1]}, {row[0] for row in found if row[2]}
    query = _exposed_query(_subjects.c.customer_id.in_(customers))
    rows: list[tuple[Any, ...]] = [tuple(row) for row in connection.execute(query, params)]
    seen = {row[0] for row in rows}
    return {row[0] for row in rows if row[1] in _OPENED}, seen


def charge_reads(session: Session, actor: Actor, subjects: Iterable[Subject]) -> ReadUsage | None:
    """Charge the customers `subjects` expose to the actor before they are shown; None if nothing new.

    Over a soft limit a new customer needs a step-up within the window (StepUpRequired; tokens, which cannot
    step up, get PermissionDenied); over a hard limit the account is contained and ReadBudgetExceeded raised.
    Customers already charged this hour and day cost nothing more.
    """
    if _exempt(actor):
        return None
    assert actor.staff_id is not None  # for mypy: _exempt() lets no actor without a staff id through
    opened = {s.customer_id for s in subjects if s.customer_id is not None and str(s.exposure) in _OPENED}
    listed = {s.customer_id for s in subjects if s.customer_id is not None and str(s.exposure) in _SEEN}
    flight = _in_flight(session, actor.staff_id)
    new_opened = opened - flight.opened
    new_listed = (listed | opened) - flight.listed
    if not new_opened and not new_listed:
        return None
    now = utcnow()
    # The common case (re-opening a case, refreshing a queue) exposes nobody new this hour, which moves neither
    # count: a few index probes by customer settle it without counting the whole day.
    known_opened, known_seen = _exposed_since(session, actor.staff_id, new_opened | new_listed, since=now - _HOUR)
    if new_opened <= known_opened and new_listed <= known_seen:
        flight.opened |= opened
        flight.listed |= listed | opened
        return None
    config = _config(session)
    limits = config.limits_for(actor.role)
    usage = read_usage(session, actor.staff_id, now=now, opened=opened, listed=listed)
    hard = usage.over(limits, "hard")
    if hard:
        _contain(session, actor, usage, hard, now=now)
        raise ReadBudgetExceeded()
    soft = usage.over(limits, "soft")
    if soft and not _stepped_up(actor, config, now):
        if _soft_refusals(session, actor, now) + 1 >= limits.soft_refusals_to_contain:
            _contain(session, actor, usage, [*soft, "soft_refusals"], now=now)
            raise ReadBudgetExceeded()
        record(
            session,
            actor=actor,
            action=AuditAction.STEP_UP_REQUIRED,
            outcome=Outcome.DENIED,
            target_type="staff",
            target_id=str(actor.staff_id),
            reason=_SOFT_REFUSAL,
            detail={"over": soft, **usage.as_detail()},
        )
        _alert_once(session, actor, {"level": "soft", "over": soft, **usage.as_detail()}, now)
        if actor.method != AuthMethod.SESSION:
            raise PermissionDenied()
        raise StepUpRequired()
    flight.opened |= opened
    flight.listed |= listed | opened
    return usage


def charge_reveal(session: Session, actor: Actor, *, customer_id: uuid.UUID, case_id: uuid.UUID | None = None) -> int:
    """Charge one reveal of a value of `customer_id`; returns the reveals used in the last hour, this one included.

    Over the per-hour reveal limit the reveal is refused (RevealBudgetExceeded, audited as `budget.exceeded`);
    the customer is also charged as read, so `charge_reads`' step-up and containment apply. Call it before the
    value is decrypted, and record `pii.revealed` afterwards.
    """
    if _exempt(actor):
        return 0
    assert actor.staff_id is not None  # for mypy: see _exempt()
    config = _config(session)
    now = utcnow()
    flight = _in_flight(session, actor.staff_id)
    used = _reveals_in_hour(session, actor.staff_id, now) + 1
    if used > config.reveals_per_hour:
        record(
            session,
            actor=actor,
            action=AuditAction.BUDGET_EXCEEDED,
            outcome=Outcome.DENIED,
            target_type="staff",
            target_id=str(actor.staff_id),
            reason="reveal budget",
            detail={"budget": "reveal", "limit": config.reveals_per_hour, "reveals_hour": used - 1},
        )
        _alert_once(session, actor, {"level": "reveal", "limit": config.reveals_per_hour}, now)
        raise RevealBudgetExceeded()
    charge_reads(session, actor, [Subject(customer_id, case_id, Exposure.REVEALED)])
    flight.reveals += 1
    return used


def _reveals_in_hour(session: Session, staff_id: uuid.UUID, now: datetime) -> int:
    """Values revealed by `staff_id` in the last hour, this unit of work's included."""
    committed = session.execute(
        sa.select(sa.func.count()).where(
            _events.c.actor_id == staff_id,
            _events.c.occurred_at >= now - _HOUR,
            _events.c.action == str(AuditAction.PII_REVEALED),
            _events.c.outcome == str(Outcome.ALLOWED),
        )
    ).scalar_one()
    return int(committed) + _in_flight(session, staff_id).reveals


def reveals_left(session: Session, actor: Actor) -> int | None:
    """How many more values the actor may reveal this hour (None when no budget applies: CLI, system)."""
    if _exempt(actor):
        return None
    assert actor.staff_id is not None  # for mypy: see _exempt()
    return max(0, _config(session).reveals_per_hour - _reveals_in_hour(session, actor.staff_id, utcnow()))


def _rowcount(result: sa.Result[object]) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _stepped_up(actor: Actor, config: BudgetConfig, now: datetime) -> bool:
    verified = actor.mfa_verified_at
    return actor.method == AuthMethod.SESSION and verified is not None and now - verified <= config.step_up_window


def _contain(session: Session, actor: Actor, usage: ReadUsage, crossed: list[str], *, now: datetime) -> None:
    """Suspend the account, revoke its sessions and tokens, raise a high alert; all audited, in this transaction."""
    staff_id = actor.staff_id
    assert staff_id is not None
    detail = {"over": crossed, **usage.as_detail()}
    record(
        session,
        actor=actor,
        action=AuditAction.BUDGET_EXCEEDED,
        outcome=Outcome.DENIED,
        target_type="staff",
        target_id=str(staff_id),
        reason="read budget hard limit",
        detail={"budget": "read", **detail},
    )
    guard = Actor.system("read-budget")
    session.execute(sa.update(_staff).where(_staff.c.id == staff_id).values(status="suspended"))
    record(
        session,
        actor=guard,
        action=AuditAction.STAFF_SUSPENDED,
        target_type="staff",
        target_id=str(staff_id),
        reason="read budget hard limit",
        detail={"via": "read-budget"},
    )
    sessions = session.execute(
        sa.update(_staff_sessions)
        .where(_staff_sessions.c.staff_id == staff_id, _staff_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="read budget exceeded")
    )
    tokens = session.execute(
        sa.update(_api_tokens)
        .where(_api_tokens.c.staff_id == staff_id, _api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    record(
        session,
        actor=guard,
        action=AuditAction.SESSION_REVOKED,
        target_type="staff",
        target_id=str(staff_id),
        reason="read budget hard limit",
        detail={"sessions_revoked": _rowcount(sessions), "tokens_revoked": _rowcount(tokens)},
    )
    alert_detail = {"level": "hard", "session": actor.session_ref, **detail}
    _raise_alert(session, staff_id, severity="high", detail=alert_detail, now=now)
    log.warning("read budget exceeded: account contained staff_id=%s", staff_id)


def _raise_alert(
    session: Session, staff_id: uuid.UUID, *, severity: str, detail: Mapping[str, object], now: datetime
) -> None:
    """An alert row as detection.raise_alert writes it (that layer is above this one), audited the same way."""
    guard = Actor.system("read-budget")
    alert_id = uuid.uuid4()
    session.execute(
        sa.insert(_alerts).values(
            id=alert_id,
            raised_at=now,
            kind=_ALERT_KIND,
            severity=severity,
            status="open",
            actor_id=None,
            actor_label=guard.username,
            subject_staff_id=staff_id,
            detail=dict(detail),
        )
    )
    record(
        session,
        actor=guard,
        action=AuditAction.ALERT_RAISED,
        target_type="alert",
        target_id=str(alert_id),
        detail={"kind": _ALERT_KIND, "severity": severity},
    )


def _soft_refusals(session: Session, actor: Actor, now: datetime) -> int:
    """Soft-limit refusals of this actor in the last hour since its last step-up."""
    since = now - _HOUR
    if actor.mfa_verified_at is not None and actor.mfa_verified_at > since:
        since = actor.mfa_verified_at
    return int(
        session.execute(
            sa.select(sa.func.count()).where(
                _events.c.actor_id == actor.staff_id,
                _events.c.occurred_at >= since,
                _events.c.action == str(AuditAction.STEP_UP_REQUIRED),
                _events.c.reason == _SOFT_REFUSAL,
            )
        ).scalar_one()
    )


def _alert_once(session: Session, actor: Actor, detail: Mapping[str, object], now: datetime) -> None:
    """A medium alert the first time in an hour a staff member is stopped short of containment.

    A thief with a cookie but no second factor stops at the soft limit (or, with one, at the reveal limit) and may
    never reach the hard limit; the security team should still hear about it. One alert per hour, however often
    the refusal repeats.
    """
    assert actor.staff_id is not None
    recent = session.execute(
        sa.select(_alerts.c.id)
        .where(
            _alerts.c.subject_staff_id == actor.staff_id,
            _alerts.c.kind == _ALERT_KIND,
            _alerts.c.raised_at >= now - _HOUR,
        )
        .limit(1)
    ).first()
    if recent is None:
        _raise_alert(
            session, actor.staff_id, severity="medium", detail={**detail, "session": actor.session_ref}, now=now
        )
