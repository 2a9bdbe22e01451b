"""What every console page shares: templates, the strict CSP, form CSRF, error pages and PII chips."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from casevault.access.actor import Actor
from casevault.access.break_glass import active_break_glass
from casevault.access.budgets import ReadBudgetExceeded
from casevault.access.models import BreakGlassSession
from casevault.access.permissions import Permission, role_allows
from casevault.access.rls import bind_actor
from casevault.api.deps import CSRF_HEADER, SecondFactorRequired, SignedIn, session_cookie_name
from casevault.api.errors import request_id_of
from casevault.errors import AuthenticationRequired, CasevaultError, NotFound, StepUpRequired
from casevault.identity.sessions import csrf_token_for

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "ConsoleRoute",
    "ConsoleStatic",
    "Segment",
    "csrf_of",
    "render",
    "safe_next",
    "segments",
    "templates",
]

WEB_DIR = Path(__file__).parent
CSRF_FIELD = "csrf_token"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Typed tokens the redactor leaves in text, e.g. [EMAIL_ADDRESS:6bbca656e2cd].
_TOKEN = re.compile(r"\[([A-Z][A-Z_]{1,40}):([0-9a-f]{4,64})\]")

templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


@dataclass(frozen=True)
class Segment:
    """A run of redacted text: plain words, or a typed token shown as a chip (never a clear value).

    `token` is the whole redaction token (a keyed digest, not personal data), which a reveal names.
    """

    text: str
    entity_type: str | None = None
    token: str | None = None

    @property
    def label(self) -> str:
        return (self.entity_type or "").replace("_", " ").lower()


def segments(text: str | None) -> list[Segment]:
    """Split redacted text into plain runs and token chips, so templates never need to parse it."""
    if not text:
        return []
    found: list[Segment] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            found.append(Segment(text[position : match.start()]))
        found.append(Segment(match.group(2)[:6], entity_type=match.group(1), token=match.group(0)))
        position = match.end()
    if position < len(text):
        found.append(Segment(text[position:]))
    return found


def allows(actor: Actor | None, permission: str) -> bool:
    """For navigation only (routes make the real check): whether the actor's role holds `permission`."""
    return actor is not None and role_allows(actor.role, Permission(permission))


templates.env.globals["segments"] = segments
templates.env.globals["allows"] = allows


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    session: Session | None = None,
) -> Response:
    """A page rendered with autoescaping, the request id every footer shows and, for a signed-in person, the
    break-glass banner of every live break-glass session (looked up in `session`, or a short one of its own)."""
    actor = context.get("actor")
    if isinstance(actor, Actor) and "break_glass" not in context:
        context = {**context, "break_glass": _live_break_glass(request, actor, session)}
    return templates.TemplateResponse(
        request, name, {"request_id": request_id_of(request), **context}, status_code=status_code
    )


def _live_break_glass(request: Request, actor: Actor, session: Session | None) -> list[BreakGlassSession]:
    if actor.staff_id is None:
        return []
    if session is not None:
        return active_break_glass(session, actor.staff_id)
    runtime: Any = request.app.state.runtime
    with runtime.db.sessions() as own:
        bind_actor(own, actor)
        rows = active_break_glass(own, actor.staff_id)
        own.expunge_all()
        return rows


def csrf_of(request: Request) -> str:
    """The CSRF token of the request's session, for the hidden field of every form on the page."""
    signed_in = getattr(request.state, "signed_in", None)
    # After MFA or a step-up the session id rotates: the cached SignedIn holds the secret now in force.
    if isinstance(signed_in, SignedIn):
        return csrf_token_for(signed_in.secret)
    runtime: Any = request.app.state.runtime
    return csrf_token_for(request.cookies.get(session_cookie_name(runtime.settings), ""))


def safe_next(value: str | None, default: str = "/queue") -> str:
    """A same-site path to return to after a step-up; anything else (other hosts, schemes) gives `default`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return default
    if any(ord(character) < 0x20 for character in value):
        return default
    return value


def _with_csp(response: Response) -> Response:
    response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    return response


async def _form_csrf_as_header(request: Request) -> Request:
    """Lift the form's hidden CSRF field into the X-CSRF-Token header, so api.deps makes the one CSRF check.

    The body is replayed to the route, which parses the form itself.
    """
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    token: str | None = None
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=50).get(CSRF_FIELD)
        except ValueError:
            # More fields than any console form has: no token is lifted, so the CSRF check refuses it.
            values = None
        token = values[0] if values else None
    headers = [(name, value) for name, value in request.scope["headers"] if name != CSRF_HEADER.encode("ascii")]
    if token is not None:
        headers.append((CSRF_HEADER.encode("ascii"), token.encode("ascii", "replace")))
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request({**request.scope, "headers": headers}, replay)


def _error_page(request: Request, exc: CasevaultError) -> Response:
    if isinstance(exc, SecondFactorRequired):
        return RedirectResponse("/sign-in/code", status_code=303)
    if isinstance(exc, AuthenticationRequired):
        return RedirectResponse("/sign-in", status_code=303)
    if isinstance(exc, ReadBudgetExceeded):
        # The access layer has just contained the account (sessions revoked, security team alerted): say so plainly.
        page = render(request, "contained.html", {}, status_code=exc.status_code)
        page.headers["cache-control"] = "no-store"
        return page
    chrome = _signed_in_chrome(request)
    if isinstance(exc, StepUpRequired) and chrome:
        # A read past the soft budget (or any step-up-gated page): confirm the second factor, then come back.
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        next_path = safe_next(back) if request.method.upper() in _SAFE_METHODS else "/queue"
        return render(request, "step_up.html", {**chrome, "next": next_path, "error": None}, status_code=401)
    if isinstance(exc, NotFound):
        return render(request, "not_found.html", {**chrome, "path": request.url.path}, status_code=404)
    return render(
        request,
        "error.html",
        {**chrome, "status": exc.status_code, "message": exc.public_message},
        status_code=exc.status_code,
    )


def _signed_in_chrome(request: Request) -> dict[str, Any]:
    """The header (who is signed in, sign-out form) for error pages of a fully signed-in session."""
    signed_in = getattr(request.state, "signed_in", None)
    if not isinstance(signed_in, SignedIn) or not signed_in.mfa_complete:
        return {}
    return {"actor": signed_in.actor, "csrf_token": csrf_token_for(signed_in.secret)}


class ConsoleRoute(APIRoute):
    """Page routes: errors become friendly pages (or a redirect to sign-in), and every response carries the CSP."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                if request.method.upper() not in _SAFE_METHODS:
                    request = await _form_csrf_as_header(request)
                response = await handler(request)
            except CasevaultError as exc:
                response = _error_page(request, exc)
            except RequestValidationError:
                response = render(
                    request,
                    "error.html",
                    {**_signed_in_chrome(request), "status": 400, "message": "that request was not valid"},
                    status_code=400,
                )
            except StarletteHTTPException as exc:
                chrome = _signed_in_chrome(request)
                if exc.status_code == 404:
                    response = render(request, "not_found.html", chrome, status_code=404)
                else:
                    response = render(
                        request,
                        "error.html",
                        {**chrome, "status": exc.status_code, "message": "the request failed"},
                        status_code=exc.status_code,
                    )
            return _with_csp(response)

        return console_handler


class ConsoleStatic:
    """The console's static files (CSS, vendored htmx), served with the same CSP as the pages."""

    def __init__(self) -> None:
        self.files = StaticFiles(directory=str(WEB_DIR / "static"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_csp(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
                ]
            await send(message)

        await self.files(scope, receive, with_csp)
