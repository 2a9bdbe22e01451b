"""Request-scoped dependencies: runtime services, the unit of work, the actor, CSRF, step-up and permissions."""

from __future__ import annotations

import functools
import hmac
import inspect
import ipaddress
from collections.abc import AsyncIterator, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from casevault.access.actor import Actor, AuthMethod
from casevault.access.permissions import Permission, role_allows
from casevault.access.rls import bind_actor
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.config import Settings
from casevault.crypto.keyring import Keyring
from casevault.db.session import Database
from casevault.detection.models import AlertKind, Severity
from casevault.detection.services import raise_alert
from casevault.errors import AuthenticationRequired, CasevaultError, PermissionDenied, StepUpRequired
from casevault.identity.clock import Clock, SystemClock
from casevault.identity.models import Staff, StaffSession
from casevault.identity.services import IdentityContext, session_actor
from casevault.identity.sessions import ClientBinding, Rejected, csrf_token_for, resolve_session
from casevault.identity.tokens import authenticate_token

__all__ = [
    "CSRF_HEADER",
    "ActorDep",
    "CsrfRejected",
    "DeferredActor",
    "Runtime",
    "SecondFactorRequired",
    "SessionDep",
    "SignedIn",
    "SignedInDep",
    "StepUpDep",
    "UnitOfWorkRoute",
    "authenticate_request",
    "client_binding",
    "current_actor",
    "get_runtime",
    "get_session",
    "identity_context",
    "ip_prefix",
    "public",
    "require",
    "require_session",
    "require_step_up",
    "session_cookie_name",
    "signing_in",
]

PERMISSION_MARK = "__casevault_permission__"
# On require() checks: they accept a DeferredActor (UnitOfWorkRoute decides from it whether to defer).
_DEFERS_MARK = "__casevault_defers_actor__"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SecondFactorRequired(AuthenticationRequired):
    """The session has only passed the password: nothing but the MFA routes is reachable yet."""

    code = "mfa_required"
    public_message = "complete sign-in with your second factor"


class CsrfRejected(PermissionDenied):
    """A cookie-authenticated unsafe request without the session's CSRF token."""

    code = "csrf_failed"
    public_message = "missing or invalid CSRF token"


@dataclass(frozen=True)
class Runtime:
    """What create_app() wires once: settings, database, keyring. Stored on app.state.runtime."""

    settings: Settings
    db: Database
    keyring: Keyring
    # Sign-in decisions read this clock; tests swap in a FixedClock with dataclasses.replace().
    clock: Clock = field(default_factory=SystemClock)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: commits on success and on audited denials, rolls back otherwise.

    async: opening a session does no I/O (it connects at its first statement), so only the commit or rollback
    costs a thread-pool round trip (a sync generator cost two), and none when a UnitOfWorkRoute endpoint
    committed on its own thread.
    """
    session = get_runtime(request).db.sessions()
    _UNIT_OF_WORK.set(session)
    try:
        yield session
        if session.in_transaction():  # a UnitOfWorkRoute endpoint has committed on its own thread already
            await run_in_threadpool(session.commit)
    except CasevaultError as exc:
        await run_in_threadpool(session.commit if exc.commit_before_raise else session.rollback)
        raise
    except BaseException:
        await run_in_threadpool(session.rollback)
        raise
    finally:
        # set, not reset(token): the exit may run in a copy of the context the session was bound in.
        _UNIT_OF_WORK.set(None)
        # After a commit or rollback the connection is back in the pool: closing does no I/O.
        session.close()


# The request's unit of work, for UnitOfWorkRoute (thread-pool calls run in a copy of the request's context).
_UNIT_OF_WORK: ContextVar[Session | None] = ContextVar("casevault.unit_of_work", default=None)


class _ActorSlot:
    """Where a UnitOfWorkRoute request keeps its DeferredActor.

    One object per request, put in the context by the route handler, so the dependencies and the endpoint's thread
    see the same one even through copies of the context.
    """

    __slots__ = ("deferred",)

    def __init__(self) -> None:
        self.deferred: DeferredActor | None = None


_ACTOR_SLOT: ContextVar[_ActorSlot | None] = ContextVar("casevault.actor_slot", default=None)


def _run_and_commit(endpoint: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    slot = _ACTOR_SLOT.get()
    deferred = slot.deferred if slot is not None else None
    if deferred is not None:
        deferred.resolve()  # also when only route-level require() checks took it
    kwargs = {name: value.resolve() if isinstance(value, DeferredActor) else value for name, value in kwargs.items()}
    result = endpoint(*args, **kwargs)
    session = _UNIT_OF_WORK.get()
    if session is not None and session.in_transaction():
        session.commit()
    return result


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        # async for FastAPI, so it validates the response on the event loop (a sync endpoint's response is
        # validated in a second thread-pool call).
        return await run_in_threadpool(_run_and_commit, endpoint, args, kwargs)

    return run


class UnitOfWorkRoute(APIRoute):
    """API routes that run their sync work on one worker thread: authentication, endpoint and commit.

    Same commit point as `get_session`'s (after the endpoint, before the response) and the same order of checks
    (authentication, then permissions, then input validation), one thread-pool call per request instead of three.
    The actor is authenticated on that thread when every dependency taking it is a `require()` check (see
    `DeferredActor`); a route with other actor consumers (step-up) authenticates in its own call as before. A
    raising endpoint commits nothing here: `get_session` rolls back (or commits an audited denial) as before.
    Module-level route functions stay unwrapped, so calling one directly never commits.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        wrapped = not inspect.iscoroutinefunction(endpoint)
        super().__init__(path, _committing(endpoint) if wrapped else endpoint, **kwargs)
        self.defers_actor = wrapped and _only_checks_take_the_actor(self.dependant)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            slot = _ActorSlot()  # a fresh one: a context reused across requests must not carry the last actor
            _ACTOR_SLOT.set(slot)
            try:
                return await handler(request)
            except RequestValidationError:
                deferred = slot.deferred
                if deferred is not None and not deferred.resolved:
                    # Authentication and permission failures answer (and are audited) before invalid input.
                    await run_in_threadpool(deferred.resolve)
                raise

        return handle


def _only_checks_take_the_actor(dependant: Dependant) -> bool:
    """Whether the endpoint and `require()` checks are the only dependencies that take `current_actor`."""
    return all(_consumers_defer(sub) for sub in dependant.dependencies)


def _consumers_defer(dependant: Dependant) -> bool:
    # A DeferredActor comes out of current_actor and out of every require() check: only checks may take one.
    takes_actor = any(_yields_actor(sub.call) for sub in dependant.dependencies)
    if takes_actor and not getattr(dependant.call, _DEFERS_MARK, False):
        return False
    return all(_consumers_defer(sub) for sub in dependant.dependencies)


def _yields_actor(call: Callable[..., Any] | None) -> bool:
    return call is current_actor or bool(getattr(call, _DEFERS_MARK, False))


# "function" scope: commit before the response is sent, so a client that gets 200 can read its own write at once
# (the default "request" scope commits after the response, racing the next request on a real server).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# Cached: every request of a client parses the same address (ipaddress costs ~0.4 % of a create+read's CPU).
@functools.lru_cache(maxsize=4096)
def ip_prefix(host: str | None) -> str | None:
    """The client's network (/24 for IPv4, /48 for IPv6): enough to bind sessions and report, not to track."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def session_cookie_name(settings: Settings) -> str:
    """`__Host-` pins the cookie to this host and path / (browsers insist on Secure for it)."""
    return "__Host-casevault_session" if settings.cookie_secure else "casevault_session"


def identity_context(request: Request) -> IdentityContext:
    runtime = get_runtime(request)
    return IdentityContext(settings=runtime.settings, keyring=runtime.keyring, clock=runtime.clock)


def client_binding(request: Request) -> ClientBinding:
    """What a session is bound to: the client's network prefix and user-agent."""
    host = request.client.host if request.client else None
    return ClientBinding(ip_prefix=ip_prefix(host), user_agent=request.headers.get("user-agent", "")[:512])


@dataclass(frozen=True)
class SignedIn:
    """A live cookie session, possibly still waiting for its second factor."""

    row: StaffSession
    staff: Staff
    secret: str = field(repr=False)
    actor: Actor = field(repr=False)

    @property
    def mfa_complete(self) -> bool:
        return self.row.mfa_completed_at is not None


def _token_actor(request: Request, session: Session, header: str) -> Actor:
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential:
        raise AuthenticationRequired()
    actor = authenticate_token(session, credential.strip())
    if actor is None:
        record(
            session,
            actor=Actor.system("anonymous"),
            action=AuditAction.TOKEN_REJECTED,
            outcome=Outcome.DENIED,
            reason="unknown, expired or revoked token",
        )
        raise AuthenticationRequired()
    client = request.client.host if request.client else None
    return Actor(
        staff_id=actor.staff_id,
        username=actor.username,
        role=actor.role,
        method=actor.method,
        session_ref=actor.session_ref,
        ip_prefix=ip_prefix(client),
        scopes=actor.scopes,
        mfa_verified_at=actor.mfa_verified_at,
    )


def _cookie_session(request: Request, session: Session) -> SignedIn:
    """Resolve the session cookie (bound, unexpired, unrevoked) and enforce CSRF on unsafe methods."""
    cached = getattr(request.state, "signed_in", None)
    if isinstance(cached, SignedIn):
        return cached
    runtime = get_runtime(request)
    secret = request.cookies.get(session_cookie_name(runtime.settings))
    if not secret:
        raise AuthenticationRequired()
    binding = client_binding(request)
    ctx = identity_context(request)
    outcome = resolve_session(session, secret, binding=binding, now=runtime.clock.now(), timeouts=ctx.timeouts)
    if isinstance(outcome, Rejected):
        row = outcome.row
        record(
            session,
            actor=Actor(
                staff_id=row.staff_id if row is not None else None,
                username="anonymous" if row is None else f"session:{row.id.hex[:16]}",
                role=None,
                method=AuthMethod.SESSION,
                session_ref=f"session:{row.id.hex[:16]}" if row is not None else None,
                ip_prefix=binding.ip_prefix,
            ),
            action=AuditAction.SESSION_REJECTED,
            outcome=Outcome.DENIED,
            target_type="session" if row is not None else None,
            target_id=str(row.id) if row is not None else None,
            reason=outcome.reason,
        )
        if outcome.reason == "client changed" and row is not None:
            # A live cookie from another network or browser is how a stolen session shows itself.
            raise_alert(
                session,
                kind=AlertKind.SESSION_HIJACK_SUSPECTED,
                severity=Severity.HIGH,
                actor=Actor.system("session-guard"),
                subject_staff_id=row.staff_id,
                detail={"session": str(row.id), "bound_prefix": row.ip_prefix, "seen_prefix": binding.ip_prefix},
            )
        raise AuthenticationRequired()
    actor = session_actor(outcome.staff, outcome.row, ip_prefix=binding.ip_prefix)
    if request.method.upper() not in _SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(presented.encode("ascii", "replace"), csrf_token_for(secret).encode("ascii")):
            record(
                session,
                actor=actor,
                action=AuditAction.CSRF_REJECTED,
                outcome=Outcome.DENIED,
                reason="missing or wrong CSRF token",
                detail={"route": str(getattr(request.scope.get("route"), "path", ""))},
            )
            raise CsrfRejected()
    signed_in = SignedIn(row=outcome.row, staff=outcome.staff, secret=secret, actor=actor)
    request.state.signed_in = signed_in
    return signed_in


def authenticate_request(request: Request, session: Session) -> Actor:
    """Authenticate by bearer token (when an Authorization header is sent) or else by an MFA-complete session."""
    header = request.headers.get("authorization", "")
    if header:
        actor = _token_actor(request, session, header)
    else:
        signed_in = _cookie_session(request, session)
        if not signed_in.mfa_complete:
            raise SecondFactorRequired()
        actor = signed_in.actor
    # The database's second wall (PostgreSQL row-level security) sees the same principal as the access functions.
    bind_actor(session, actor)
    return actor


class DeferredActor:
    """A UnitOfWorkRoute request's actor, authenticated and checked on the endpoint's worker thread.

    `current_actor` returns one instead of an Actor (no I/O on the event loop, no thread-pool call of its own),
    `require()` checks add their permission to it, and the endpoint's thread resolves it first thing: the same
    statements, audit rows and errors in the same order as when they ran as separate dependencies.
    """

    def __init__(self, request: Request, session: Session) -> None:
        self._request = request
        self._session = session
        self._permissions: list[Permission] = []
        self._actor: Actor | None = None

    @property
    def resolved(self) -> bool:
        return self._actor is not None

    def require(self, permission: Permission) -> None:
        self._permissions.append(permission)

    def resolve(self) -> Actor:
        if self._actor is None:
            actor = authenticate_request(self._request, self._session)
            for permission in self._permissions:
                _check_permission(self._request, self._session, actor, permission)
            self._actor = actor
        return self._actor

    def __repr__(self) -> str:
        return f"DeferredActor(resolved={self.resolved})"


async def current_actor(request: Request, session: SessionDep) -> Actor | DeferredActor:
    """The request's actor (see `authenticate_request`); deferred to the endpoint's thread on UnitOfWorkRoutes."""
    slot = _ACTOR_SLOT.get()
    if slot is not None and getattr(request.scope.get("route"), "defers_actor", False):
        slot.deferred = DeferredActor(request, session)
        return slot.deferred
    return await run_in_threadpool(authenticate_request, request, session)


ActorDep = Annotated[Actor, Depends(current_actor)]
_MaybeDeferredActor = Annotated[Actor | DeferredActor, Depends(current_actor)]


def _check_permission(request: Request, session: Session, actor: Actor, permission: Permission) -> None:
    """The actor's role must hold `permission` (and a token must carry it as a scope); a denial is audited."""
    allowed = role_allows(actor.role, permission) and (
        actor.method != AuthMethod.TOKEN or permission in actor.scopes or "*" in actor.scopes
    )
    if not allowed:
        record(
            session,
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            outcome=Outcome.DENIED,
            reason=f"role or token lacks {permission}",
            detail={"route": str(getattr(request.scope.get("route"), "path", ""))},
        )
        raise PermissionDenied()


def require(permission: Permission) -> Any:
    """Route dependency: the actor's role must hold `permission` (and a token must carry it as a scope)."""

    # async: the check does no I/O (a denial's audit row is only staged), so it runs on the event loop instead of
    # costing every request a thread-pool round trip; with a deferred actor it runs on the endpoint's thread.
    async def check(request: Request, session: SessionDep, actor: _MaybeDeferredActor) -> Actor | DeferredActor:
        if isinstance(actor, DeferredActor):
            actor.require(permission)
        else:
            _check_permission(request, session, actor, permission)
        return actor

    setattr(check, _DEFERS_MARK, True)
    setattr(check, PERMISSION_MARK, str(permission))
    return Depends(check)


def require_step_up(request: Request, session: SessionDep, actor: ActorDep) -> Actor:
    """Route dependency for sensitive actions: a session whose last second-factor check is within the window.

    API tokens and the CLI can never satisfy it (there is no second factor behind them).
    """
    runtime = get_runtime(request)
    route = str(getattr(request.scope.get("route"), "path", ""))
    if actor.method != AuthMethod.SESSION:
        record(
            session,
            actor=actor,
            action=AuditAction.STEP_UP_REQUIRED,
            outcome=Outcome.DENIED,
            reason="tokens cannot step up",
            detail={"route": route},
        )
        raise PermissionDenied()
    verified = actor.mfa_verified_at
    if verified is None or runtime.clock.now() - verified > runtime.settings.step_up_window:
        record(
            session,
            actor=actor,
            action=AuditAction.STEP_UP_REQUIRED,
            outcome=Outcome.DENIED,
            reason="no second-factor check within the step-up window",
            detail={"route": route},
        )
        raise StepUpRequired()
    return actor


StepUpDep = Annotated[Actor, Depends(require_step_up)]


def require_session(permission: Permission) -> Any:
    """Like require(), for actions only a signed-in person may take (step-up, own password): tokens get 403."""
    permitted = require(permission)

    def check(request: Request, session: SessionDep, actor: Actor = permitted) -> SignedIn:
        signed_in = getattr(request.state, "signed_in", None)
        if actor.method != AuthMethod.SESSION or not isinstance(signed_in, SignedIn):
            record(
                session,
                actor=actor,
                action=AuditAction.STEP_UP_REQUIRED,
                outcome=Outcome.DENIED,
                reason="tokens cannot step up",
                detail={"route": str(getattr(request.scope.get("route"), "path", ""))},
            )
            raise PermissionDenied()
        return signed_in

    setattr(check, PERMISSION_MARK, str(permission))
    return Depends(check)


def signing_in(reason: str) -> Any:
    """Route dependency for the sign-in routes a password-only session may use (second factor, enrolment)."""

    def pending_or_complete(request: Request, session: SessionDep) -> SignedIn:
        return _cookie_session(request, session)

    setattr(pending_or_complete, PERMISSION_MARK, f"signing-in:{reason}")
    return Depends(pending_or_complete)


SignedInDep = Annotated[SignedIn, signing_in("any live session, password-only included")]


def public(reason: str) -> Any:
    """Route dependency that declares a route deliberately open (sign-in, health); the reason is greppable."""

    def open_route() -> None:
        return None

    setattr(open_route, PERMISSION_MARK, f"public:{reason}")
    return Depends(open_route)


def declared_permission(dependency: Callable[..., Any]) -> str | None:
    """The permission a dependency declares, if it is one made by require() or public()."""
    value = getattr(dependency, PERMISSION_MARK, None)
    return value if isinstance(value, str) else None
