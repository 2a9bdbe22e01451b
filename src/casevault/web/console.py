"""The agent console's pages: sign-in (password, then TOTP), my queue, a case (notes, replies, status), my sessions.

Pages reuse the sign-in routes of `identity.api` and the readers of `cases` (so every read is audited and
scoped exactly as over the API); forms carry the session's CSRF token, checked by `api.deps`.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import SecretStr, ValidationError

from casevault.access.actor import Actor
from casevault.access.permissions import Permission
from casevault.api.deps import (
    CsrfRejected,
    SessionDep,
    SignedIn,
    SignedInDep,
    get_runtime,
    identity_context,
    public,
    require,
    session_cookie_name,
)
from casevault.audit.events import AuditAction
from casevault.cases import access, services, views
from casevault.cases.models import CaseStatus, NoteVisibility
from casevault.cases.schemas import CustomerOut
from casevault.config import Settings
from casevault.errors import AuthenticationRequired, CasevaultError, RateLimited
from casevault.identity import api as identity_api
from casevault.identity.schemas import LoginRequest, TotpCode
from casevault.identity.sessions import csrf_token_for
from casevault.web.rendering import ConsoleRoute, ConsoleStatic, render

__all__ = ["PAGE_SIZE", "install", "router"]

PAGE_SIZE = 20
NOTE_MAX_CHARS = 10_000

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

CaseReader = Annotated[Actor, require(Permission.CASE_READ)]
NoteWriter = Annotated[Actor, require(Permission.NOTE_CREATE)]
CaseUpdater = Annotated[Actor, require(Permission.CASE_UPDATE)]
SelfManager = Annotated[Actor, require(Permission.SELF_MANAGE)]


def install(app: FastAPI) -> None:
    """Add the console's pages and static files to the app (call before create_app checks the routes)."""
    app.include_router(router)
    app.mount("/static", ConsoleStatic(), name="static")


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ------------------------------------------------------------------------------------------------ sign-in


def _login_cookie(settings: Settings) -> str:
    # The sign-in form has no session yet: a double-submit cookie stands in for the session's CSRF token.
    return "__Host-casevault_signin" if settings.cookie_secure else "casevault_signin"


def _sign_in_page(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    settings = get_runtime(request).settings
    token = secrets.token_urlsafe(32)
    response = render(
        request, "sign_in.html", {"csrf_token": token, "error": error, "signed_out": False}, status_code=status_code
    )
    response.set_cookie(
        _login_cookie(settings), token, httponly=True, secure=settings.cookie_secure, samesite="strict", path="/"
    )
    # Under the default no-referrer policy Chromium posts `Origin: null`, which the sign-in route's login-CSRF
    # check rightly refuses; same-origin still sends nothing to other sites.
    response.headers["referrer-policy"] = "same-origin"
    return response


@router.get("/", dependencies=[public("sends visitors to their queue (or to sign-in)")])
def home() -> Response:
    """The console starts at the queue; unsigned visitors are sent on to sign in from there."""
    return _see_other("/queue")


@router.get("/sign-in", dependencies=[public("the sign-in form")])
def sign_in_form(request: Request) -> Response:
    """Username and password form."""
    return _sign_in_page(request)


@router.post("/sign-in", dependencies=[public("password sign-in; opens a session that still needs MFA")])
def sign_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Check the password through the API's sign-in route, then ask for the second factor."""
    settings = get_runtime(request).settings
    expected = request.cookies.get(_login_cookie(settings), "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return _sign_in_page(request, error="The form expired. Please sign in again.", status_code=400)
    try:
        body = LoginRequest(username=username, password=SecretStr(password))
    except ValidationError:
        return _sign_in_page(request, error="Enter your username and password.", status_code=400)
    response = _see_other("/sign-in/code")
    try:
        status = identity_api.login(body, request, response, session, identity_context(request))
    except RateLimited as exc:
        return _sign_in_page(request, error=exc.public_message.capitalize() + ".", status_code=429)
    except AuthenticationRequired:
        return _sign_in_page(request, error="Username or password is incorrect.", status_code=401)
    except CsrfRejected:
        return _sign_in_page(request, error="Sign in from this site's own sign-in page.", status_code=403)
    response.delete_cookie(_login_cookie(settings), path="/", secure=settings.cookie_secure, samesite="strict")
    if status.enrolment_required:
        # First-sign-in enrolment is not in the console yet; the session stays password-only.
        response.headers["location"] = "/sign-in/code?enrol=1"
    return response


def _code_page(request: Request, signed_in: SignedInDep, *, error: str | None, status_code: int = 200) -> Response:
    return render(
        request,
        "sign_in_code.html",
        {
            "csrf_token": csrf_token_for(signed_in.secret),
            "username": signed_in.staff.username,
            "error": error,
            "enrol": request.query_params.get("enrol") == "1",
        },
        status_code=status_code,
    )


@router.get("/sign-in/code")
def code_form(request: Request, signed_in: SignedInDep) -> Response:
    """The second-factor form; a password-only session can reach this page and nothing else."""
    if signed_in.mfa_complete:
        return _see_other("/queue")
    return _code_page(request, signed_in, error=None)


@router.post("/sign-in/code")
def submit_code(
    request: Request,
    signed_in: SignedInDep,
    session: SessionDep,
    code: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Verify a TOTP code through the API's route; on success the session is rotated and the queue opens."""
    if signed_in.mfa_complete:
        return _see_other("/queue")
    try:
        body = TotpCode(code=SecretStr(code.strip()))
    except ValidationError:
        return _code_page(request, signed_in, error="Enter the 6-digit code from your app.", status_code=400)
    response = _see_other("/queue")
    try:
        identity_api.verify_totp(body, response, signed_in, session, identity_context(request))
    except AuthenticationRequired:
        # Five wrong answers end the session: then the next page load asks for the password again.
        return _code_page(request, signed_in, error="That code was not accepted. Try the next one.", status_code=401)
    return response


@router.post("/sign-out")
def sign_out(request: Request, signed_in: SignedInDep, session: SessionDep) -> Response:
    """End the current session and show the sign-in form."""
    response = _see_other("/sign-in?signed-out=1")
    identity_api.logout(response, signed_in, session, identity_context(request))
    return response


# ------------------------------------------------------------------------------------------------ queue


@router.get("/queue")
def queue(
    request: Request,
    session: SessionDep,
    actor: CaseReader,
    status: Annotated[CaseStatus | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=5_000)] = 1,
) -> Response:
    """Cases assigned to me and unassigned cases in my queues, newest first (each listed case is audited)."""
    found = services.list_cases(session, actor=actor, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render(
        request,
        "queue.html",
        {
            "actor": actor,
            "csrf_token": _csrf(request),
            "cases": views.case_summaries(session, found.items),
            "total": found.total,
            "page": page,
            "pages": pages,
            "status": status,
            "statuses": list(CaseStatus),
        },
    )


# ------------------------------------------------------------------------------------------------ case


def _customer(session: SessionDep, request: Request, actor: Actor, reference: str) -> CustomerOut | None:
    """The case's customer, masked; None once crypto-shredded (the case outlives the person's data)."""
    customer = access.customer_for(session, actor, reference)
    try:
        return views.customer_view(
            session, get_runtime(request).keyring, customer, contacts=access.contacts_of(session, customer)
        )
    except services.CustomerErased:
        return None


def _case_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    number: str,
    *,
    note_error: str | None = None,
    status_error: str | None = None,
    status_code: int = 200,
) -> Response:
    keyring = get_runtime(request).keyring
    case = services.get_case(session, number, actor=actor)
    detail = views.case_detail(session, keyring, case)
    notes = views.note_views(session, access.notes_for(session, actor, case))
    return render(
        request,
        "case.html",
        {
            "actor": actor,
            "csrf_token": _csrf(request),
            "case": detail,
            "customer": _customer(session, request, actor, detail.customer.reference),
            "notes": notes,
            "note_error": note_error,
            "status_error": status_error,
            "next_statuses": sorted(
                (status for status in services.ALLOWED_TRANSITIONS[case.status] if status != CaseStatus.RESOLVED),
                key=list(CaseStatus).index,
            ),
        },
        status_code=status_code,
    )


@router.get("/cases/{number}")
def case_page(number: str, request: Request, session: SessionDep, actor: CaseReader) -> Response:
    """One case: redacted text with typed chips, the masked customer and the notes timeline."""
    return _case_page(request, session, actor, number)


@router.post("/cases/{number}/notes")
def add_note(
    number: str,
    request: Request,
    session: SessionDep,
    actor: NoteWriter,
    body: Annotated[str, Form(max_length=NOTE_MAX_CHARS)] = "",
    visibility: Annotated[NoteVisibility, Form()] = NoteVisibility.INTERNAL,
) -> Response:
    """Add an internal note or a public reply (redacted and sealed by the case service), then show the case."""
    case = access.case_for(session, actor, number, action=AuditAction.NOTE_ADDED, record_read=False)
    if not body.strip():
        return _case_page(request, session, actor, number, note_error="Write something first.", status_code=400)
    try:
        services.add_note(
            session,
            case,
            keyring=get_runtime(request).keyring,
            body=body,
            visibility=visibility,
            actor=actor,
        )
    except CasevaultError as exc:
        if exc.status_code != 422:
            raise
        return _case_page(request, session, actor, number, note_error=exc.public_message, status_code=400)
    return _see_other(f"/cases/{case.number}#notes")


@router.post("/cases/{number}/status")
def change_status(
    number: str,
    request: Request,
    session: SessionDep,
    actor: CaseUpdater,
    status: Annotated[CaseStatus, Form()],
) -> Response:
    """Move the case to another status (resolving, which needs a resolution text, is not offered here)."""
    case = access.case_for(session, actor, number, action=AuditAction.CASE_STATUS_CHANGED, record_read=False)
    try:
        services.change_status(session, case, status, actor=actor)
    except services.InvalidTransition:
        return _case_page(
            request, session, actor, number, status_error="That status change is not allowed.", status_code=409
        )
    return _see_other(f"/cases/{case.number}")


# ------------------------------------------------------------------------------------------------ my sessions


@router.get("/account/sessions")
def my_sessions(request: Request, session: SessionDep, actor: SelfManager) -> Response:
    """My live sessions (where and when), each revocable; a session I do not recognise is a stolen one."""
    listed = identity_api.list_sessions(actor, request, session, identity_context(request))
    return render(
        request,
        "sessions.html",
        {"actor": actor, "csrf_token": _csrf(request), "sessions": listed.sessions, "active": "sessions"},
    )


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(session_id: uuid.UUID, request: Request, session: SessionDep, actor: SelfManager) -> Response:
    """Revoke one of my sessions through the API's route; revoking this one signs me out."""
    response = _see_other("/account/sessions")
    identity_api.revoke_own_session(session_id, actor, response, request, session, identity_context(request))
    current = getattr(request.state, "signed_in", None)
    if isinstance(current, SignedIn) and current.row.id == session_id:
        response.headers["location"] = "/sign-in"
    return response


def _csrf(request: Request) -> str:
    """The CSRF token of the request's session, for the hidden field of every form on the page."""
    secret = request.cookies.get(session_cookie_name(get_runtime(request).settings), "")
    signed_in = getattr(request.state, "signed_in", None)
    # After MFA the session id rotates: the cached SignedIn holds the secret this request was authenticated with.
    return csrf_token_for(signed_in.secret if signed_in is not None else secret)
