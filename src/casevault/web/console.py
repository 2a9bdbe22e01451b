"""The agent console's sign-in and account pages, and `install()`, which mounts every console page.

Sign-in is password then a second factor (TOTP, or a passkey through the API's WebAuthn routes from a vendored
script); an account without a factor enrols one first (QR code, then recovery codes shown once). Pages reuse
the route functions of `identity.api`, so cookies, rotation, throttling and audit are exactly the API's; forms
carry the session's CSRF token, checked by `api.deps` (docs/adr/0700-…). The case, access and security pages
live in `casework`, `access_pages` and `security_pages`.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import SecretStr, ValidationError

from casevault.access.actor import Actor
from casevault.access.permissions import Permission
from casevault.access.roles import Role
from casevault.api.deps import (
    CsrfRejected,
    SecondFactorRequired,
    SessionDep,
    SignedIn,
    SignedInDep,
    get_runtime,
    identity_context,
    public,
    require,
)
from casevault.config import Settings
from casevault.errors import AuthenticationRequired, Conflict, RateLimited
from casevault.identity import api as identity_api
from casevault.identity import services as identity_services
from casevault.identity.schemas import LoginRequest, TotpCode
from casevault.identity.sessions import csrf_token_for
from casevault.web import access_pages, casework, security_pages, stepup
from casevault.web.casework import PAGE_SIZE
from casevault.web.rendering import ConsoleRoute, ConsoleStatic, csrf_of, render

__all__ = ["PAGE_SIZE", "install", "router"]

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SelfManager = Annotated[Actor, require(Permission.SELF_MANAGE)]


def install(app: FastAPI) -> None:
    """Add the console's pages and static files to the app (call before create_app checks the routes)."""
    for pages in (router, stepup.router, casework.router, access_pages.router, security_pages.router):
        app.include_router(pages)
    app.mount("/static", ConsoleStatic(), name="static")


def _home_for(actor: Actor) -> str:
    """Where a signed-in person starts: the queue, or the security pages for a role that works no cases."""
    if actor.role == Role.SECURITY_OFFICER:
        return "/security/audit"
    return "/queue"


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
        # No second factor yet: the password-only session may enrol the first one, and nothing else.
        response.headers["location"] = "/sign-in/enrol"
    return response


def _code_page(
    request: Request,
    session: SessionDep,
    signed_in: SignedInDep,
    *,
    error: str | None,
    status_code: int = 200,
) -> Response:
    factors = identity_services.factors_of(session, signed_in.staff.id)
    return render(
        request,
        "sign_in_code.html",
        {
            "csrf_token": csrf_token_for(signed_in.secret),
            "username": signed_in.staff.username,
            "error": error,
            "totp": factors.totp,
            "passkeys": factors.passkeys,
        },
        status_code=status_code,
    )


@router.get("/sign-in/code")
def code_form(request: Request, session: SessionDep, signed_in: SignedInDep) -> Response:
    """The second-factor form (TOTP code or passkey); a password-only session can reach this page and nothing else."""
    if signed_in.mfa_complete:
        return _see_other(_home_for(signed_in.actor))
    if identity_services.factors_of(session, signed_in.staff.id).enrolment_required:
        return _see_other("/sign-in/enrol")
    return _code_page(request, session, signed_in, error=None)


@router.post("/sign-in/code")
def submit_code(
    request: Request,
    signed_in: SignedInDep,
    session: SessionDep,
    code: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Verify a TOTP code through the API's route; on success the session is rotated and the queue opens.

    The first code from a new authenticator confirms the enrolment: the recovery codes are shown once.
    """
    if signed_in.mfa_complete:
        return _see_other(_home_for(signed_in.actor))
    enrolling = identity_services.factors_of(session, signed_in.staff.id).enrolment_required
    retry = _enrol_page if enrolling else _code_page
    try:
        body = TotpCode(code=SecretStr(code.strip()))
    except ValidationError:
        return retry(request, session, signed_in, error="Enter the 6-digit code from your app.", status_code=400)
    response = _see_other(_home_for(signed_in.actor))
    try:
        status = identity_api.verify_totp(body, response, signed_in, session, identity_context(request))
    except AuthenticationRequired:
        # Five wrong answers end the session: then the next page load asks for the password again.
        error = "That code was not accepted. Try the next one."
        return retry(request, session, signed_in, error=error, status_code=401)
    if status.recovery_codes:
        page = render(
            request,
            "recovery_codes.html",
            {"codes": status.recovery_codes, "next": _home_for(signed_in.actor)},
        )
        page.raw_headers.extend((name, value) for name, value in response.raw_headers if name == b"set-cookie")
        page.headers["cache-control"] = "no-store"
        return page
    return response


# ------------------------------------------------------------------------------------------------ enrolment


def _enrol_page(
    request: Request,
    session: SessionDep,
    signed_in: SignedInDep,
    *,
    error: str | None = None,
    status_code: int = 200,
    enrolment: dict[str, str] | None = None,
) -> Response:
    page = render(
        request,
        "enrol.html",
        {
            "csrf_token": csrf_token_for(signed_in.secret),
            "username": signed_in.staff.username,
            "error": error,
            "enrolment": enrolment,
            "pending": identity_services.factors_of(session, signed_in.staff.id).totp_pending,
        },
        status_code=status_code,
    )
    page.headers["cache-control"] = "no-store"
    return page


@router.get("/sign-in/enrol")
def enrol_form(request: Request, session: SessionDep, signed_in: SignedInDep) -> Response:
    """First sign-in: choose an authenticator app (QR code) or a passkey; nothing else is reachable before."""
    if signed_in.mfa_complete or not identity_services.factors_of(session, signed_in.staff.id).enrolment_required:
        return _see_other("/sign-in/code")
    return _enrol_page(request, session, signed_in)


@router.post("/sign-in/enrol/totp")
def enrol_totp(request: Request, session: SessionDep, signed_in: SignedInDep) -> Response:
    """Start TOTP enrolment through the API's route: a fresh secret, shown as a QR code (server-rendered SVG)."""
    try:
        started = identity_api.enrol_totp(signed_in, session, identity_context(request))
    except (SecondFactorRequired, Conflict):
        return _see_other("/sign-in/code")
    enrolment = {"secret": started.secret, "qr_svg": started.qr_svg}
    return _enrol_page(request, session, signed_in, enrolment=enrolment)


@router.post("/sign-out")
def sign_out(request: Request, signed_in: SignedInDep, session: SessionDep) -> Response:
    """End the current session and show the sign-in form."""
    response = _see_other("/sign-in?signed-out=1")
    identity_api.logout(response, signed_in, session, identity_context(request))
    return response


# ------------------------------------------------------------------------------------------------ my sessions


@router.get("/account/sessions")
def my_sessions(request: Request, session: SessionDep, actor: SelfManager) -> Response:
    """My live sessions (where and when), each revocable; a session I do not recognise is a stolen one."""
    listed = identity_api.list_sessions(actor, request, session, identity_context(request))
    return render(
        request,
        "sessions.html",
        {"actor": actor, "csrf_token": csrf_of(request), "sessions": listed.sessions, "active": "sessions"},
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


# ------------------------------------------------------------------------------------------------ my security


@router.get("/account/security")
def my_security(request: Request, session: SessionDep, actor: SelfManager) -> Response:
    """My second factors; add a passkey (after a step-up: adding a factor is itself sensitive)."""
    signed_in = getattr(request.state, "signed_in", None)
    staff_id = signed_in.staff.id if isinstance(signed_in, SignedIn) else actor.staff_id
    factors = identity_services.factors_of(session, staff_id) if staff_id is not None else None
    return render(
        request,
        "security_keys.html",
        {"actor": actor, "csrf_token": csrf_of(request), "factors": factors, "active": "security-keys"},
        session=session,
    )
