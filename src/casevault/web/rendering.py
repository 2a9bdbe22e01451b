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
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from casevault.api.deps import CSRF_HEADER, SecondFactorRequired, SignedIn
from casevault.api.errors import request_id_of
from casevault.errors import AuthenticationRequired, CasevaultError, NotFound
from casevault.identity.sessions import csrf_token_for

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_FIELD",
    "ConsoleRoute",
    "ConsoleStatic",
    "Segment",
    "render",
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
    """A run of redacted text: plain words, or a typed token shown as a chip (never a clear value)."""

    text: str
    entity_type: str | None = None

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
        found.append(Segment(match.group(2)[:6], entity_type=match.group(1)))
        position = match.end()
    if position < len(text):
        found.append(Segment(text[position:]))
    return found


templates.env.globals["segments"] = segments


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """A page rendered with autoescaping and the request id every page footer shows."""
    return templates.TemplateResponse(
        request, name, {"request_id": request_id_of(request), **context}, status_code=status_code
    )


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
    chrome = _signed_in_chrome(request)
    if isinstance(exc, NotFound):
        return render(request, "not_found.html", chrome, status_code=404)
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
