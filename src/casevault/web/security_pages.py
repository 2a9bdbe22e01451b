"""Security officer pages: the audit trail (filters, chain verification), alerts (acknowledge, close) and
break-glass review, charts (reads per staff member over time; customers exposed by country and sector for one
person and window) and incidents (blast radius for an account and window, record it, contain an account, the
recorded incidents, re-verify one, export notifications).

The trail and its verification come from the route functions of `audit.api` (each query is itself audited);
alert handling from `detection.api`; the exposure charts from `incident.services` and the incident pages from
the route functions of `incident.api` (blast radius audited as run; the export needs a step-up); charts are
inline SVG.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from casevault.access import api as access_api
from casevault.access.actor import Actor
from casevault.access.grants import REASON_MAX_LENGTH, REASON_MIN_LENGTH, staff_labels
from casevault.access.permissions import Permission
from casevault.access.schemas import ReviewIn
from casevault.api.deps import SessionDep, get_runtime, require
from casevault.audit import api as audit_api
from casevault.audit.activity import reads_per_actor
from casevault.audit.events import AuditAction, Exposure
from casevault.detection import api as detection_api
from casevault.detection.schemas import AlertNoteIn
from casevault.detection.services import AlertHandling, list_alerts
from casevault.errors import Conflict, InvalidInput
from casevault.incident import api as incident_api
from casevault.incident.blast_radius import BlastModel
from casevault.incident.notifications import ExportFormat
from casevault.incident.schemas import (
    BlastRadiusOut,
    BlastRadiusRequest,
    ContainRequest,
    ExportRequest,
    IncidentRequest,
    IncidentVerifyOut,
)
from casevault.incident.services import UnknownAccount, build_query, run_blast_radius
from casevault.web.charts import bar_chart, line_chart
from casevault.web.rendering import ConsoleRoute, csrf_of, render
from casevault.web.stepup import StepUp, has_passkey, looks_fresh, step_up_fresh

__all__ = ["router"]

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

AuditReader = Annotated[Actor, require(Permission.AUDIT_READ)]
AlertReader = Annotated[Actor, require(Permission.ALERT_READ)]
IncidentManager = Annotated[Actor, require(Permission.INCIDENT_MANAGE)]
AUDIT_PAGE_SIZE = 50
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}


def _moment(value: str | None, name: str) -> datetime | None:
    """A `datetime-local` form value, read as UTC; InvalidInput names the field when it does not parse."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name}: not a date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/security/audit")
def audit_trail(
    request: Request,
    session: SessionDep,
    actor: AuditReader,
    who: Annotated[str | None, Query(alias="actor", max_length=64)] = None,
    action_filter: Annotated[str | None, Query(alias="action", max_length=64)] = None,
    customer_filter: Annotated[str | None, Query(alias="customer", max_length=36)] = None,
    since: Annotated[str | None, Query(max_length=32)] = None,
    until: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Audit events newest first, filtered by actor, customer, action and time; with the chain's verification."""
    runtime = get_runtime(request)
    # Filter forms send "" for "any"; anything else must parse (a 422 page names the field otherwise).
    try:
        action = AuditAction(action_filter) if action_filter else None
        customer = uuid.UUID(customer_filter) if customer_filter else None
    except ValueError:
        raise InvalidInput("action or customer: not a known value") from None
    page = audit_api.list_events(
        session,
        actor,
        actor_filter=(who or "").strip() or None,
        action=action,
        customer_id=customer,
        since=_moment(since, "since"),
        until=_moment(until, "until"),
        cursor=cursor,
        limit=AUDIT_PAGE_SIZE,
    )
    chain = audit_api.verify_chain(session, runtime, actor)
    filters = {"actor": who or "", "action": action or "", "customer": customer or "", "since": since or ""}
    filters["until"] = until or ""
    query = "&".join(f"{name}={value}" for name, value in filters.items() if value)
    return render(
        request,
        "audit.html",
        {
            "actor": actor,
            "active": "audit",
            "csrf_token": csrf_of(request),
            "events": page.events,
            "next_cursor": page.next_cursor,
            "chain": chain,
            "filters": filters,
            "filter_query": query,
            "actions": list(AuditAction),
        },
        session=session,
    )


def _alerts_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    handled: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    unreviewed = access_api.list_break_glass(session, actor, unreviewed=True).items
    listed = list_alerts(session, limit=100)
    return render(
        request,
        "alerts.html",
        {
            "actor": actor,
            "active": "alerts",
            "csrf_token": csrf_of(request),
            "alerts": listed,
            "handlers": staff_labels(session, [alert.handled_by_id for alert in listed]),
            "unreviewed": unreviewed,
            "reason_min": REASON_MIN_LENGTH,
            "handled": handled,
            "error": error,
        },
        status_code=status_code,
        session=session,
    )


@router.get("/security/alerts")
def alerts(
    request: Request,
    session: SessionDep,
    actor: AlertReader,
    handled: Annotated[str | None, Query(pattern="^(acknowledged|closed)$")] = None,
) -> Response:
    """Alerts newest first (acknowledge or close each with a note), and break-glass sessions waiting for a review
    by someone else."""
    return _alerts_page(request, session, actor, handled=handled)


@router.post("/security/alerts/{alert_id}")
def handle_alert(
    alert_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: AlertReader,
    handling: Annotated[AlertHandling, Form()],
    note: Annotated[str, Form(max_length=REASON_MAX_LENGTH)] = "",
) -> Response:
    """Acknowledge or close an alert with a note, through the API's routes (stored redacted, audited)."""
    try:
        body = AlertNoteIn(note=note)
    except ValidationError:
        error = f"Write a note of at least {REASON_MIN_LENGTH} characters."
        return _alerts_page(request, session, actor, error=error, status_code=400)
    route = detection_api.acknowledge_alert if handling is AlertHandling.ACKNOWLEDGE else detection_api.close_alert
    try:
        done = route(alert_id, body, session, actor)
    except Conflict:
        error = "That alert was already handled: see its status below."
        return _alerts_page(request, session, actor, error=error, status_code=409)
    return RedirectResponse(f"/security/alerts?handled={done.status}", status_code=303)


@router.post("/security/break-glass/{break_glass_id}/review")
def review_break_glass(
    break_glass_id: uuid.UUID,
    session: SessionDep,
    actor: AlertReader,
    note: Annotated[str, Form(max_length=REASON_MAX_LENGTH)] = "",
) -> Response:
    """Record what the review of someone else's break-glass session concluded."""
    if len(note.strip()) < REASON_MIN_LENGTH:
        raise InvalidInput(f"note: at least {REASON_MIN_LENGTH} characters")
    access_api.review_break_glass(break_glass_id, ReviewIn(note=note), session, actor)
    return RedirectResponse("/security/alerts", status_code=303)


@router.get("/security/charts")
def charts(
    request: Request,
    session: SessionDep,
    actor: IncidentManager,
    _reader: AuditReader,
    agent: Annotated[str | None, Query(max_length=64)] = None,
    window: Annotated[str, Query(pattern="^(1h|24h|7d)$")] = "24h",
) -> Response:
    """Reads per staff member over the window; for a chosen person, the customers they exposed by country and
    sector (the blast-radius computation, audited as run)."""
    now = get_runtime(request).clock.now()
    span = WINDOWS[window]
    since = now - span
    activity = reads_per_actor(session, since=since, until=now, bucket=span / 24)
    reads = line_chart(
        activity.starts,
        [(series.actor, series.counts) for series in activity.series],
        time_format="%H:%M" if span <= timedelta(days=1) else "%d %b",
    )
    exposure: dict[str, Any] | None = None
    error: str | None = None
    chosen = (agent or "").strip()
    if chosen:
        try:
            query = build_query(session, actor_name=chosen, since=since, until=now)
        except UnknownAccount:
            error = "No staff account has that username."
        else:
            report = run_blast_radius(session, query, actor=actor)
            exposure = {
                "customers": len(report.customers),
                "revealed": report.revealed_count,
                "cases": report.cases,
                "by_country": bar_chart([(s.key, s.customers, s.share) for s in report.by_country]),
                "by_sector": bar_chart([(s.key, s.customers, s.share) for s in report.by_sector]),
            }
    return render(
        request,
        "charts.html",
        {
            "actor": actor,
            "active": "charts",
            "csrf_token": csrf_of(request),
            "window": window,
            "windows": list(WINDOWS),
            "activity": activity,
            "reads": reads,
            "agent": chosen,
            "agents": [series.actor for series in activity.series],
            "exposure": exposure,
            "error": error,
        },
        session=session,
    )


# ------------------------------------------------------------------------------------------------ incidents


def _incident_request(
    account: str, model: str, sessions: str, since: str | None, until: str | None
) -> BlastRadiusRequest:
    """The blast-radius parameters from the form; InvalidInput names what does not parse."""
    try:
        blast_model = BlastModel(model or BlastModel.ACCOUNT)
    except ValueError:
        raise InvalidInput("model: not a known value") from None
    refs = [ref.strip() for ref in sessions.replace(",", " ").split() if ref.strip()]
    try:
        return BlastRadiusRequest(
            actor=account,
            model=blast_model,
            sessions=refs,
            since=_moment(since, "since"),
            until=_moment(until, "until"),
        )
    except ValidationError:
        raise InvalidInput("account, sessions or window: not valid") from None


# Exposure levels, worst first, as the report page lists them.
_LEVELS = (Exposure.REVEALED, Exposure.WRITTEN, Exposure.OPENED, Exposure.LISTED)


def _report_view(report: BlastRadiusOut) -> dict[str, Any]:
    levels = {row.key: row.customers for row in report.by_exposure}
    return {
        "report": report,
        "levels": [
            (level, levels.get(str(level), 0))
            for level in (Exposure.REVEALED, Exposure.WRITTEN, Exposure.OPENED, Exposure.LISTED)
        ],
        "by_country": bar_chart([(row.key, row.customers, row.share) for row in report.by_country]),
        "by_sector": bar_chart([(row.key, row.customers, row.share) for row in report.by_sector]),
    }


RECENT_INCIDENTS = 50


@router.get("/security/incidents")
def incidents(
    request: Request,
    session: SessionDep,
    actor: IncidentManager,
    account: Annotated[str, Query(max_length=64)] = "",
    model: Annotated[str, Query(max_length=16)] = "account",
    sessions: Annotated[str, Query(max_length=2_000)] = "",
    since: Annotated[str | None, Query(max_length=32)] = None,
    until: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Run a blast radius for an account and window (account, session or screen model) and see who was exposed,
    at what level and where; then record it as an incident. Running it is audited. Below: containment and the
    incidents recorded so far."""
    context = _incidents_context(request, session, actor)
    context["form"] = {
        "account": account.strip(),
        "model": model,
        "sessions": sessions,
        "since": since or "",
        "until": until or "",
    }
    status_code = 200
    if account.strip():
        try:
            body = _incident_request(account.strip(), model, sessions, since, until)
            context.update(_report_view(incident_api.blast_radius(body, session, actor, get_runtime(request))))
        except UnknownAccount:
            context["error"] = "No staff account has that username."
            status_code = 404
        except InvalidInput as exc:
            context["error"] = exc.public_message.capitalize() + "."
            status_code = 422
    return render(request, "incidents.html", context, status_code=status_code, session=session)


def _incidents_context(request: Request, session: SessionDep, actor: Actor) -> dict[str, Any]:
    """What the incidents page shows whatever was asked: the forms' defaults and the recorded incidents."""
    return {
        "actor": actor,
        "active": "incidents",
        "csrf_token": csrf_of(request),
        "form": {"account": "", "model": "account", "sessions": "", "since": "", "until": ""},
        "models": list(BlastModel),
        "error": None,
        "reason_min": REASON_MIN_LENGTH,
        "contain": {"account": "", "error": None},
        "needs_code": not looks_fresh(request, actor),
        "passkeys": has_passkey(session, actor),
        "recorded": incident_api.incidents(session, actor, limit=RECENT_INCIDENTS, offset=0),
    }


@router.post("/security/incidents/contain")
def contain(
    request: Request,
    session: SessionDep,
    actor: IncidentManager,
    account: Annotated[str, Form(max_length=64)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",  # the incident record's limit (ContainRequest)
    code: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Contain an account now (suspend it, end its sessions and tokens, reset its second factors, record the
    incident), after a fresh second factor: from a browser this is the most drastic thing an officer can do."""

    def refused(error: str, status_code: int, stepped: StepUp | None = None) -> Response:
        context = _incidents_context(request, session, actor)
        context["contain"] = {"account": account.strip(), "error": error}
        page = render(request, "incidents.html", context, status_code=status_code, session=session)
        return stepped.pass_cookies(page) if stepped is not None else page

    if not account.strip():
        return refused("Name the account to contain.", 422)
    if len(reason.strip()) < REASON_MIN_LENGTH:
        return refused(f"Give a reason of at least {REASON_MIN_LENGTH} characters.", 422)
    stepped = step_up_fresh(request, session, actor, code)
    if stepped.needed or stepped.actor is None:
        error = stepped.error or "Confirm with the code from your authenticator app to contain an account."
        return refused(error, 401, stepped)
    body = ContainRequest(actor=account.strip(), reason=reason.strip())
    try:
        result = incident_api.contain(body, session, stepped.actor, get_runtime(request))
    except UnknownAccount:
        return refused("No staff account has that username.", 404, stepped)
    except InvalidInput as exc:
        return refused(exc.public_message.capitalize() + ".", 422, stepped)
    return stepped.pass_cookies(RedirectResponse(f"/security/incidents/{result.incident_id}", status_code=303))


@router.post("/security/incidents")
def record(
    request: Request,
    session: SessionDep,
    actor: IncidentManager,
    account: Annotated[str, Form(max_length=64)] = "",
    model: Annotated[str, Form(max_length=16)] = "account",
    sessions: Annotated[str, Form(max_length=2_000)] = "",
    since: Annotated[str, Form(max_length=40)] = "",
    until: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Record the blast radius shown (same account, model, sessions and window) as an incident, with a reason."""
    if len(reason.strip()) < REASON_MIN_LENGTH:
        raise InvalidInput(f"reason: at least {REASON_MIN_LENGTH} characters")
    query = _incident_request(account.strip(), model, sessions, since or None, until or None)
    body = IncidentRequest(**query.model_dump(), reason=reason.strip())
    created = incident_api.create_incident(body, session, actor, get_runtime(request))
    return RedirectResponse(f"/security/incidents/{created.id}", status_code=303)


def _incident_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    incident_id: uuid.UUID,
    *,
    error: str | None = None,
    verification: IncidentVerifyOut | None = None,
    status_code: int = 200,
) -> Response:
    incident = incident_api.show_incident(incident_id, session, actor)
    context: dict[str, Any] = {
        "actor": actor,
        "active": "incidents",
        "csrf_token": csrf_of(request),
        "incident": incident,
        "needs_code": not looks_fresh(request, actor),
        "passkeys": has_passkey(session, actor),
        "error": error,
        "verification": verification,
    }
    return render(request, "incident.html", context, status_code=status_code, session=session)


@router.get("/security/incidents/{incident_id}")
def incident(incident_id: uuid.UUID, request: Request, session: SessionDep, actor: IncidentManager) -> Response:
    """A recorded incident: its parameters, chain head and figures, and the notification export."""
    return _incident_page(request, session, actor, incident_id)


@router.post("/security/incidents/{incident_id}/verify")
def verify(incident_id: uuid.UUID, request: Request, session: SessionDep, actor: IncidentManager) -> Response:
    """Recompute the incident's report at its recorded chain head and say whether it still matches (audited)."""
    result = incident_api.verify(incident_id, session, actor, get_runtime(request))
    return _incident_page(request, session, actor, incident_id, verification=result)


@router.post("/security/incidents/{incident_id}/notifications")
def export(
    incident_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    actor: IncidentManager,
    code: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Download the notification records (CSV, contact channels decrypted now) after a fresh second factor,
    through the API's export route (audited as an export)."""
    stepped = step_up_fresh(request, session, actor, code)
    if stepped.needed or stepped.actor is None:
        error = stepped.error or "Confirm with the code from your authenticator app to export."
        return stepped.pass_cookies(_incident_page(request, session, actor, incident_id, error=error, status_code=401))
    fresh = stepped.actor
    download = incident_api.notifications(
        incident_id, ExportRequest(format=ExportFormat.CSV), session, fresh, get_runtime(request)
    )
    return stepped.pass_cookies(download)
