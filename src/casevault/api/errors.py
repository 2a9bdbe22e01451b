"""Exception handlers: generic bodies with a request id; validation errors name fields, never echo input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from casevault.errors import CasevaultError, StepUpRequired

__all__ = ["install_error_handlers", "request_id_of"]

log = logging.getLogger("casevault.errors")


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "unknown"))


def _body(code: str, message: str, request: Request, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "request_id": request_id_of(request), **extra}}


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so no exception text, stack trace or input value reaches a client."""

    @app.exception_handler(CasevaultError)
    async def domain_error(request: Request, exc: CasevaultError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        extra: dict[str, object] = {"step_up": True} if isinstance(exc, StepUpRequired) else {}
        return JSONResponse(
            _body(exc.code, exc.public_message, request, **extra), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(part) for part in error.get("loc", ())), "problem": error.get("msg", "")}
            for error in exc.errors()
        ]
        return JSONResponse(_body("invalid", "validation failed", request, fields=fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, "request failed")
        return JSONResponse(_body(code, message, request), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the type only: exception messages can quote values (SQL parameters, decoded text).
        log.error("unhandled %s request_id=%s", type(exc).__name__, request_id_of(request))
        return JSONResponse(_body("internal", "internal error", request), status_code=500)
