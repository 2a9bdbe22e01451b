"""Read activity per staff member over time, from the audit trail (the security officers' chart)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from casevault.audit.events import AuditAction, Outcome
from casevault.audit.models import AuditEvent

__all__ = ["READ_ACTIONS", "Activity", "ActivitySeries", "reads_per_actor"]

# Every action that put customer data on someone's screen.
READ_ACTIONS: Final = (
    AuditAction.CASE_VIEWED,
    AuditAction.CASE_LISTED,
    AuditAction.CASE_SEARCHED,
    AuditAction.NOTE_VIEWED,
    AuditAction.CUSTOMER_VIEWED,
    AuditAction.CUSTOMER_LOOKED_UP,
    AuditAction.CONTACT_VIEWED,
    AuditAction.PII_REVEALED,
)
MAX_BUCKETS: Final = 200


@dataclass(frozen=True, slots=True)
class ActivitySeries:
    """One staff member's allowed reads per bucket."""

    actor: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Activity:
    """Reads per staff member in equal buckets from `since`; the busiest `series` first."""

    since: datetime
    bucket: timedelta
    starts: tuple[datetime, ...]
    series: tuple[ActivitySeries, ...]
    others: int


def reads_per_actor(session: Session, *, since: datetime, until: datetime, bucket: timedelta, top: int = 6) -> Activity:
    """Allowed read events of staff members (not the platform or CLI) between `since` and `until`, bucketed.

    The `top` busiest staff members get a series each; `others` counts the reads of everyone else.
    """
    if until <= since or bucket <= timedelta(0):
        raise ValueError("the window must be non-empty and the bucket positive")
    buckets = max(1, min(MAX_BUCKETS, math.ceil((until - since) / bucket)))
    rows = session.execute(
        select(AuditEvent.actor_label, AuditEvent.occurred_at).where(
            AuditEvent.action.in_([str(action) for action in READ_ACTIONS]),
            AuditEvent.outcome == str(Outcome.ALLOWED),
            AuditEvent.actor_id.is_not(None),
            AuditEvent.occurred_at >= since,
            AuditEvent.occurred_at < until,
        )
    )
    per_actor: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for label, moment in rows:
        index = min(buckets - 1, int((moment - since) / bucket))
        per_actor[label][index] += 1
    ranked = sorted(per_actor, key=lambda label: (-sum(per_actor[label].values()), label))
    series = tuple(
        ActivitySeries(actor=label, counts=tuple(per_actor[label][i] for i in range(buckets))) for label in ranked[:top]
    )
    others = sum(sum(per_actor[label].values()) for label in ranked[top:])
    return Activity(
        since=since,
        bucket=bucket,
        starts=tuple(since + bucket * i for i in range(buckets)),
        series=series,
        others=others,
    )
