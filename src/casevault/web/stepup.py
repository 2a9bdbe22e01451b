"""Step-up from the console: a fresh second-factor check on the session, made through the API's step-up route.

Sensitive forms (reveal, approve a grant, break-glass) carry an optional code field; when it is filled the
route steps the session up first (`identity.api.step_up`: TOTP checked once, session rotated, audited) and then
makes the API's own step-up check (`api.deps.require_step_up`) before acting. The sign-in's second factor never
counts (docs/adr/0509-…): the check must be made on the session after sign-in.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import SecretStr, ValidationError
from sqlalchemy.orm import Session

from casevault.access.actor import Actor
from casevault.access.permissions import Permission
from casevault.access.rls import bind_actor
from casevault.api.deps import (
    SessionDep,
    SignedIn,
    get_runtime,
    identity_context,
    require,
    require_step_up,
    session_cookie_name,
)
from casevault.errors import StepUpRequired
from casevault.identity import api as identity_api
from casevault.identity.schemas import StepUpBody
from casevault.identity.services import SecondFactorFailed, factors_of, session_actor
from casevault.web.rendering import ConsoleRoute, csrf_of, render, safe_next

__all__ = ["StepUp", "fresh_actor", "has_passkey", "looks_fresh", "router", "step_up_fresh"]

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SelfManager = Annotated[Actor, require(Permission.SELF_MANAGE)]


class StepUp:
    """The outcome of an inline step-up: the actor to act as, cookies to pass on, or why it failed."""

    def __init__(self, actor: Actor | None, *, error: str | None, cookies: list[tuple[bytes, bytes]]) -> None:
        self.actor = actor
        self.error = error
        self.cookies = cookies

    @property
    def needed(self) -> bool:
        """No fresh step-up: the form must ask for a code (again)."""
        return self.actor is None

    def pass_cookies(self, response: Response) -> Response:
        """Carry the rotated session cookie onto the response actually sent."""
        response.raw_headers.extend(self.cookies)
        return response


def fresh_actor(request: Request, session: Session, actor: Actor) -> bool:
    """Whether the session is stepped up within the window now (the API's check, audited when it fails)."""
    try:
        require_step_up(request, session, actor)
    except StepUpRequired:
        return False
    return True


def looks_fresh(request: Request, actor: Actor) -> bool:
    """For display only (whether a form shows its code field): the API's step-up rule, without its audit row."""
    runtime = get_runtime(request)
    verified = actor.mfa_verified_at
    return verified is not None and runtime.clock.now() - verified <= runtime.settings.step_up_window


def has_passkey(session: Session, actor: Actor) -> bool:
    """Whether a step-up form should offer "confirm with a passkey" (the person has registered one)."""
    return actor.staff_id is not None and factors_of(session, actor.staff_id).passkeys > 0


def step_up_fresh(request: Request, session: Session, actor: Actor, code: str) -> StepUp:
    """Step the session up with `code` when one is given, then make the API's step-up check.

    Returns the (possibly rotated) actor on success; otherwise `needed` and an error to show beside the code field.
    """
    signed_in = getattr(request.state, "signed_in", None)
    cookies: list[tuple[bytes, bytes]] = []
    if code.strip() and isinstance(signed_in, SignedIn):
        scratch = Response()
        try:
            body = StepUpBody(code=SecretStr(code.strip()))
        except ValidationError:
            return StepUp(None, error="Enter the 6-digit code from your app.", cookies=cookies)
        try:
            identity_api.step_up(body, scratch, signed_in, session, identity_context(request))
        except SecondFactorFailed:
            return StepUp(None, error="That code was not accepted. Wait for the next one.", cookies=cookies)
        cookies = [(name, value) for name, value in scratch.raw_headers if name == b"set-cookie"]
        actor = _rotated(request, session, signed_in, cookies)
    if not fresh_actor(request, session, actor):
        return StepUp(None, error=None, cookies=cookies)
    return StepUp(actor, error=None, cookies=cookies)


def _rotated(request: Request, session: Session, signed_in: SignedIn, cookies: list[tuple[bytes, bytes]]) -> Actor:
    """After a step-up the session's secret rotated: later forms on this page must carry the new CSRF token."""
    name = session_cookie_name(get_runtime(request).settings)
    secret = signed_in.secret
    for _, header in cookies:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header.decode("latin-1"))
        if name in jar and jar[name].value:
            secret = jar[name].value
    actor = session_actor(signed_in.staff, signed_in.row, ip_prefix=signed_in.actor.ip_prefix)
    request.state.signed_in = SignedIn(row=signed_in.row, staff=signed_in.staff, secret=secret, actor=actor)
    bind_actor(session, actor)
    return actor


# ------------------------------------------------------------------------------------------------ the page


@router.get("/step-up")
def step_up_form(
    request: Request,
    session: SessionDep,
    actor: SelfManager,
    next_path: Annotated[str | None, Query(alias="next", max_length=500)] = None,
) -> Response:
    """Confirm your second factor to continue (reads past the soft budget, adding a passkey)."""
    context = {
        "actor": actor,
        "csrf_token": csrf_of(request),
        "next": safe_next(next_path),
        "error": None,
        "passkeys": has_passkey(session, actor),
    }
    return render(request, "step_up.html", context)


@router.post("/step-up")
def step_up_submit(
    request: Request,
    session: SessionDep,
    actor: SelfManager,
    code: Annotated[str, Form(max_length=10)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    """Step the session up with a TOTP code through the API's route, then go back to where you were."""
    target = safe_next(next_path)
    outcome = step_up_fresh(request, session, actor, code or " ")
    if outcome.needed:
        error = outcome.error or "Enter the 6-digit code from your app."
        page = render(
            request,
            "step_up.html",
            {
                "actor": actor,
                "csrf_token": csrf_of(request),
                "next": target,
                "error": error,
                "passkeys": has_passkey(session, actor),
            },
            status_code=401,
            session=session,
        )
        return outcome.pass_cookies(page)
    return outcome.pass_cookies(RedirectResponse(target, status_code=303))
