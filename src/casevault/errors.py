"""Domain errors. Handlers turn them into generic HTTP bodies with a request id; messages never carry PII."""

from __future__ import annotations

__all__ = [
    "AuthenticationRequired",
    "CasevaultError",
    "Conflict",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "StepUpRequired",
]


class CasevaultError(Exception):
    """Base of every expected error; `public_message` is safe to show a client."""

    status_code = 400
    code = "bad_request"
    public_message = "the request could not be processed"
    # A denial's audit row must survive the failed request, so the unit of work commits on these.
    commit_before_raise = False


class NotFound(CasevaultError):
    """Missing or not visible to the actor: both look the same from outside."""

    status_code = 404
    code = "not_found"
    public_message = "not found"
    commit_before_raise = True


class PermissionDenied(CasevaultError):
    """The actor's role lacks the permission the route declares (object-level denials are NotFound)."""

    status_code = 403
    code = "forbidden"
    public_message = "not allowed"
    commit_before_raise = True


class AuthenticationRequired(CasevaultError):
    """No valid session or token."""

    status_code = 401
    code = "unauthenticated"
    public_message = "authentication required"
    commit_before_raise = True


class StepUpRequired(CasevaultError):
    """A sensitive action needs a second-factor check within the step-up window."""

    status_code = 401
    code = "step_up_required"
    public_message = "confirm with your second factor to continue"
    commit_before_raise = True


class RateLimited(CasevaultError):
    """A budget or backoff was exceeded."""

    status_code = 429
    code = "rate_limited"
    public_message = "too many requests"
    commit_before_raise = True


class Conflict(CasevaultError):
    """The change conflicts with the current state."""

    status_code = 409
    code = "conflict"
    public_message = "conflict with the current state"


class InvalidInput(CasevaultError):
    """Input that passed schema validation but breaks a rule; `public_message` names the field, not values."""

    status_code = 422
    code = "invalid"

    def __init__(self, public_message: str) -> None:
        super().__init__(public_message)
        self.public_message = public_message
