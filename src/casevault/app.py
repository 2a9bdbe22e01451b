"""create_app(settings): the one place the web application is assembled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from casevault.access import api as access_api
from casevault.access.budgets import enable_read_budgets
from casevault.access.policy import PolicyError, shared_engine
from casevault.api.deps import Runtime, declared_permission, public
from casevault.api.errors import install_error_handlers
from casevault.api.middleware import ConcurrencyLimitMiddleware, RequestContextMiddleware
from casevault.audit import api as audit_api
from casevault.audit.checkpoints import Ed25519Signer, enable_auto_checkpoints
from casevault.cases import api as cases_api
from casevault.config import Settings
from casevault.crypto.keyring import KeyMismatch, Keyring, require_matching_key
from casevault.crypto.providers import KeyProvider, LocalKeyFile
from casevault.db.migrate import require_current_schema
from casevault.db.session import Database
from casevault.detection import api as detection_api
from casevault.identity import api as identity_api
from casevault.incident import api as incident_api
from casevault.web import console as web_console

__all__ = ["API_PREFIX", "StartupError", "create_app"]

API_PREFIX = "/api/v1"


class StartupError(RuntimeError):
    """The app refuses to start; the message says what to fix (never a half-running server)."""


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    key_provider: KeyProvider | None = None,
) -> FastAPI:
    """Build the ASGI app: check the schema and that the key opens its data, mount routes, refuse undeclared ones."""
    provider = key_provider if key_provider is not None else LocalKeyFile(settings.resolved_key_file)
    db = database if database is not None else Database(settings.resolved_database_url)
    require_current_schema(db)
    with db.sessions() as session:
        try:
            require_matching_key(session, provider)
        except KeyMismatch as exc:
            raise StartupError(str(exc)) from exc
    # Sign the chain head every N events, so truncating the trail past a checkpoint is detectable.
    enable_auto_checkpoints(db, Ed25519Signer.from_provider(provider), every=settings.audit_checkpoint_every)
    # Reads are charged against the configured per-role budgets (the inline containment of a stolen session).
    enable_read_budgets(db, settings)
    try:
        # Parse and validate the Cedar policies now: an invalid policy must stop start-up, not a request.
        shared_engine()
    except PolicyError as exc:
        raise StartupError(f"access policies are invalid: {exc}") from exc
    runtime = Runtime(settings=settings, db=db, keyring=Keyring(provider))

    app = FastAPI(
        title="casevault",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs" if settings.demo or settings.debug else None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)

    @app.get("/healthz", dependencies=[public("load balancers probe liveness")], tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Routers are matched in this order, route by route: the case routes (most of the traffic) come first. Their
    # paths share no prefix with the others', so the order changes nothing but the cost of matching.
    for module in (cases_api, identity_api, audit_api, incident_api, access_api, detection_api):
        app.include_router(module.router, prefix=API_PREFIX)
    web_console.install(app)

    _refuse_undeclared_routes(app)
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.max_concurrent_requests,
        queue_timeout=settings.request_queue_timeout.total_seconds(),
    )
    # Added last = outermost: every request gets an id and the body limit, even one turned away as busy.
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    return app


def _refuse_undeclared_routes(app: FastAPI) -> None:
    """Secure by default: a route with no require()/public() dependency stops start-up."""
    undeclared = _undeclared(app.router, inherited=False)
    if undeclared:
        raise StartupError("routes without a declared permission: " + ", ".join(undeclared))


def _declares(dependencies: Sequence[Any]) -> bool:
    return any(declared_permission(getattr(dep, "dependency", None) or dep) for dep in dependencies)


def _undeclared(router: APIRouter, *, inherited: bool, prefix: str = "") -> list[str]:
    inherited = inherited or _declares(router.dependencies)
    found: list[str] = []
    for route in router.routes:
        if isinstance(route, APIRoute):
            route_declared = any(
                declared_permission(dep.call) for dep in route.dependant.dependencies if dep.call
            ) or _declares(route.dependencies)
            if not (inherited or route_declared):
                found.append(f"{sorted(route.methods or ())} {prefix}{route.path}")
            continue
        # Included routers (FastAPI nests them rather than copying their routes).
        nested = getattr(route, "original_router", None)
        if isinstance(nested, APIRouter):
            context = getattr(route, "include_context", None)
            nested_prefix = prefix + str(getattr(context, "prefix", "") or "")
            context_deps = list(getattr(context, "dependencies", None) or [])
            found.extend(_undeclared(nested, inherited=inherited or _declares(context_deps), prefix=nested_prefix))
    return found
