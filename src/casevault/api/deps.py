"""Request-scoped dependencies: runtime services, the unit of work, the actor, and declared permissions."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.access.permissions import Permission, role_allows
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.config import Settings
from casevault.crypto.keyring import Keyring
from casevault.db.session import Database
from casevault.errors import AuthenticationRequired, CasevaultError, PermissionDenied
from casevault.identity.tokens import authenticate_token

__all__ = [
    "ActorDep",
    "Runtime",
    "SessionDep",
    "current_actor",
    "get_runtime",
    "get_session",
    "ip_prefix",
    "public",
    "require",
]

PERMISSION_MARK = "__casevault_permission__"


@dataclass(frozen=True)
class Runtime:
    """What create_app() wires once: settings, database, keyring. Stored on app.state.runtime."""

    settings: Settings
    db: Database
    keyring: Keyring


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: commits on success and on audited denials, rolls back otherwise."""
    session = get_runtime(request).db.sessions()
    try:
        yield session
        session.commit()
    except CasevaultError as exc:
        if exc.commit_before_raise:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


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


def current_actor(request: Request, session: SessionDep) -> Actor:
    """Authenticate the request by bearer token; anything else is 401."""
    header = request.headers.get("authorization", "")
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


ActorDep = Annotated[Actor, Depends(current_actor)]


def require(permission: Permission) -> Any:
    """Route dependency: the actor's role must hold `permission` (and a token must carry it as a scope)."""

    def check(request: Request, session: SessionDep, actor: ActorDep) -> Actor:
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
        return actor

    setattr(check, PERMISSION_MARK, str(permission))
    return Depends(check)


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
