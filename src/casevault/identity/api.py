"""Sign-in routes under /api/v1/auth: password, second factors, step-up, sessions, password change, MFA reset."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.access.permissions import Permission
from casevault.api.deps import (
    CsrfRejected,
    SecondFactorRequired,
    SessionDep,
    SignedIn,
    SignedInDep,
    StepUpDep,
    UnitOfWorkRoute,
    client_binding,
    identity_context,
    public,
    require,
    require_session,
    session_cookie_name,
)
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.config import Settings
from casevault.errors import Conflict, InvalidInput, NotFound, StepUpRequired
from casevault.identity import services
from casevault.identity.models import Staff, StaffSession
from casevault.identity.schemas import (
    LoginRequest,
    MfaResetApproved,
    MfaResetCreated,
    MfaResetRequestBody,
    PasskeyAssertion,
    PasskeyRegistration,
    PasswordChange,
    RecoveryCodeBody,
    RecoveryCodes,
    SessionInfo,
    SessionList,
    SessionSummary,
    SignInStatus,
    StepUpBody,
    TotpCode,
    TotpEnrolmentOut,
)
from casevault.identity.services import IdentityContext, SecondFactorFailed
from casevault.identity.sessions import active_sessions, csrf_token_for, revoke_session
from casevault.identity.webauthn import expected_origins

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"], route_class=UnitOfWorkRoute)

SelfActor = Annotated[Actor, require(Permission.SELF_MANAGE)]
OwnSession = Annotated[SignedIn, require_session(Permission.SELF_MANAGE)]
AdminActor = Annotated[Actor, require(Permission.STAFF_MANAGE)]
ContextDep = Annotated[IdentityContext, Depends(identity_context)]


def _sign_in_origins(settings: Settings) -> set[str]:
    """Origins a browser may post the sign-in form from: the WebAuthn origins and the server's own address."""
    own = {f"{scheme}://{settings.host}:{settings.port}" for scheme in ("http", "https")}
    return own | set(expected_origins(settings))


def _set_cookie(response: Response, settings: Settings, secret: str) -> None:
    # No Max-Age: the cookie ends with the browser session; the server enforces idle and absolute expiry.
    response.set_cookie(
        session_cookie_name(settings),
        secret,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
        path="/",
    )


def _clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        session_cookie_name(settings), path="/", secure=settings.cookie_secure, httponly=True, samesite="strict"
    )


def _status(
    session: Session, row: StaffSession, staff: Staff, secret: str, codes: list[str] | None = None
) -> SignInStatus:
    factors = services.factors_of(session, staff.id)
    return SignInStatus(
        mfa_complete=row.mfa_completed_at is not None,
        enrolment_required=factors.enrolment_required,
        methods=factors.methods,
        csrf_token=csrf_token_for(secret),
        recovery_codes=codes,
    )


def _failed_second_factor(signed_in: SignedIn, ctx: IdentityContext) -> SecondFactorFailed:
    services.note_second_factor_failure(signed_in.row, ctx=ctx)
    return SecondFactorFailed()


def _require_enrolment_allowed(session: Session, signed_in: SignedIn, ctx: IdentityContext) -> services.Factors:
    """A password-only session may enrol only the first factor; adding one later needs a fresh step-up."""
    factors = services.factors_of(session, signed_in.staff.id)
    if not signed_in.mfa_complete:
        if not factors.enrolment_required:
            raise SecondFactorRequired()
        return factors
    stepped = signed_in.row.stepped_up_at
    if stepped is None or ctx.now() - stepped > ctx.settings.step_up_window:
        record(
            session,
            actor=signed_in.actor,
            action=AuditAction.STEP_UP_REQUIRED,
            outcome=Outcome.DENIED,
            reason="adding a second factor needs step-up",
        )
        raise StepUpRequired()
    return factors


def _finish(
    session: Session,
    signed_in: SignedIn,
    response: Response,
    ctx: IdentityContext,
    *,
    method: str,
    step_up: bool,
    first_enrolment: bool,
) -> SignInStatus:
    codes = (
        services.issue_recovery_codes(session, signed_in.staff, ctx=ctx, actor=signed_in.actor)
        if first_enrolment
        else None
    )
    secret = services.complete_second_factor(
        session, signed_in.row, signed_in.staff, method=method, step_up=step_up, ctx=ctx
    )
    _set_cookie(response, ctx.settings, secret)
    return _status(session, signed_in.row, signed_in.staff, secret, codes)


@router.post("/login", dependencies=[public("password sign-in; opens a session that still needs MFA")])
def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep, ctx: ContextDep
) -> SignInStatus:
    """Check username and password; the session it opens reaches only the second-factor routes."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in _sign_in_origins(ctx.settings):
        # Login CSRF: a cross-site form must not sign this browser into someone else's account.
        record(
            session,
            actor=Actor(staff_id=None, username="anonymous", role=None, method=AuthMethod.SESSION),
            action=AuditAction.SIGNIN_FAILED,
            outcome=Outcome.DENIED,
            reason="sign-in posted from a foreign origin",
        )
        raise CsrfRejected()
    signed = services.sign_in_with_password(
        session,
        username=body.username,
        password=body.password.get_secret_value(),
        binding=client_binding(request),
        client_host=request.client.host if request.client else None,
        ctx=ctx,
    )
    _set_cookie(response, ctx.settings, signed.secret)
    return _status(session, signed.row, signed.staff, signed.secret)


@router.get("/session")
def current_session(signed_in: SignedInDep, session: SessionDep, ctx: ContextDep) -> SessionInfo:
    """Where the current session stands, and its CSRF token."""
    status = _status(session, signed_in.row, signed_in.staff, signed_in.secret)
    stepped = signed_in.row.stepped_up_at
    return SessionInfo(
        **status.model_dump(),
        username=signed_in.staff.username,
        role=str(signed_in.staff.role),
        expires_at=signed_in.row.expires_at,
        step_up_until=stepped + ctx.settings.step_up_window if stepped is not None else None,
    )


@router.post("/mfa/totp/enrol")
def enrol_totp(signed_in: SignedInDep, session: SessionDep, ctx: ContextDep) -> TotpEnrolmentOut:
    """Start TOTP enrolment: scan the QR code, then confirm with a code at POST /auth/mfa/totp."""
    _require_enrolment_allowed(session, signed_in, ctx)
    enrolment = services.start_totp_enrolment(session, signed_in.staff, ctx=ctx, actor=signed_in.actor)
    return TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@router.post("/mfa/totp")
def verify_totp(
    body: TotpCode, response: Response, signed_in: SignedInDep, session: SessionDep, ctx: ContextDep
) -> SignInStatus:
    """Verify a TOTP code: completes sign-in (or confirms enrolment); each code works once."""
    before = services.factors_of(session, signed_in.staff.id)
    if not services.verify_totp(session, signed_in.staff, body.code.get_secret_value(), ctx=ctx, actor=signed_in.actor):
        raise _failed_second_factor(signed_in, ctx)
    return _finish(
        session,
        signed_in,
        response,
        ctx,
        method="totp",
        step_up=True,
        first_enrolment=before.enrolment_required,
    )


@router.post("/mfa/webauthn/register/options")
def passkey_register_options(signed_in: SignedInDep, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptions for navigator.credentials.create()."""
    _require_enrolment_allowed(session, signed_in, ctx)
    return services.passkey_registration_options(session, signed_in.row, signed_in.staff, ctx=ctx)


@router.post("/mfa/webauthn/register")
def passkey_register(
    body: PasskeyRegistration, response: Response, signed_in: SignedInDep, session: SessionDep, ctx: ContextDep
) -> SignInStatus:
    """Register a passkey; as the first factor it also completes sign-in and returns recovery codes."""
    before = _require_enrolment_allowed(session, signed_in, ctx)
    passkey = services.register_passkey(
        session, signed_in.row, signed_in.staff, body.credential, name=body.name, ctx=ctx, actor=signed_in.actor
    )
    if passkey is None:
        raise _failed_second_factor(signed_in, ctx)
    if signed_in.mfa_complete:
        return _status(session, signed_in.row, signed_in.staff, signed_in.secret)
    return _finish(
        session, signed_in, response, ctx, method="webauthn", step_up=False, first_enrolment=before.enrolment_required
    )


@router.post("/mfa/webauthn/authenticate/options")
def passkey_authenticate_options(signed_in: SignedInDep, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptions for sign-in with one of the account's passkeys."""
    if services.factors_of(session, signed_in.staff.id).passkeys == 0:
        raise Conflict()
    return services.passkey_authentication_options(session, signed_in.row, signed_in.staff, purpose="signin", ctx=ctx)


@router.post("/mfa/webauthn/authenticate")
def passkey_authenticate(
    body: PasskeyAssertion, response: Response, signed_in: SignedInDep, session: SessionDep, ctx: ContextDep
) -> SignInStatus:
    """Verify a passkey assertion; with user verification it also counts as step-up."""
    check = services.authenticate_passkey(
        session, signed_in.row, signed_in.staff, body.credential, purpose="signin", ctx=ctx, actor=signed_in.actor
    )
    if check is None:
        raise _failed_second_factor(signed_in, ctx)
    return _finish(
        session, signed_in, response, ctx, method="webauthn", step_up=check.user_verified, first_enrolment=False
    )


@router.post("/recovery")
def use_recovery_code(
    body: RecoveryCodeBody, response: Response, signed_in: SignedInDep, session: SessionDep, ctx: ContextDep
) -> SignInStatus:
    """Complete sign-in with a one-time recovery code (it never counts as step-up)."""
    if not services.use_recovery_code(
        session, signed_in.staff, body.code.get_secret_value(), ctx=ctx, actor=signed_in.actor
    ):
        raise _failed_second_factor(signed_in, ctx)
    return _finish(session, signed_in, response, ctx, method="recovery", step_up=False, first_enrolment=False)


@router.post("/step-up/webauthn/options")
def step_up_options(signed_in: OwnSession, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    """Passkey options for step-up: user verification is required."""
    if services.factors_of(session, signed_in.staff.id).passkeys == 0:
        raise Conflict()
    return services.passkey_authentication_options(session, signed_in.row, signed_in.staff, purpose="step_up", ctx=ctx)


@router.post("/step-up")
def step_up(
    body: StepUpBody,
    response: Response,
    signed_in: OwnSession,
    session: SessionDep,
    ctx: ContextDep,
) -> SignInStatus:
    """Re-check a second factor (TOTP, or a passkey with user verification) to open the step-up window."""
    actor = signed_in.actor
    if body.code is not None:
        ok = services.verify_totp(session, signed_in.staff, body.code.get_secret_value(), ctx=ctx, actor=actor)
        method = "totp"
    elif body.credential is not None:
        check = services.authenticate_passkey(
            session, signed_in.row, signed_in.staff, body.credential, purpose="step_up", ctx=ctx, actor=actor
        )
        ok = check is not None and check.user_verified
        method = "webauthn"
    else:
        raise InvalidInput("send a TOTP code or a passkey assertion")
    if not ok:
        raise _failed_second_factor(signed_in, ctx)
    return _finish(session, signed_in, response, ctx, method=method, step_up=True, first_enrolment=False)


@router.post("/logout")
def logout(response: Response, signed_in: SignedInDep, session: SessionDep, ctx: ContextDep) -> dict[str, bool]:
    """End the current session at once."""
    revoke_session(signed_in.row, now=ctx.now(), reason="logout")
    record(
        session,
        actor=signed_in.actor,
        action=AuditAction.SESSION_REVOKED,
        target_type="session",
        target_id=str(signed_in.row.id),
        reason="logout",
    )
    _clear_cookie(response, ctx.settings)
    return {"signed_out": True}


@router.get("/sessions")
def list_sessions(actor: SelfActor, request: Request, session: SessionDep, ctx: ContextDep) -> SessionList:
    """The caller's live sessions."""
    if actor.staff_id is None:
        raise NotFound()
    current = getattr(request.state, "signed_in", None)
    current_id = current.row.id if isinstance(current, SignedIn) else None
    rows = active_sessions(session, actor.staff_id, now=ctx.now(), timeouts=ctx.timeouts)
    return SessionList(
        sessions=[
            SessionSummary(
                id=row.id,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                expires_at=row.expires_at,
                ip_prefix=row.ip_prefix,
                user_agent=row.user_agent_label,
                mfa_method=row.mfa_method,
                current=row.id == current_id,
            )
            for row in rows
        ]
    )


@router.delete("/sessions/{session_id}")
def revoke_own_session(
    session_id: uuid.UUID, actor: SelfActor, response: Response, request: Request, session: SessionDep, ctx: ContextDep
) -> dict[str, bool]:
    """Revoke one of the caller's own sessions (someone else's looks missing)."""
    row = session.get(StaffSession, session_id)
    if row is None or row.staff_id != actor.staff_id or row.revoked_at is not None:
        raise NotFound()
    revoke_session(row, now=ctx.now(), reason="revoked by owner")
    record(session, actor=actor, action=AuditAction.SESSION_REVOKED, target_type="session", target_id=str(row.id))
    current = getattr(request.state, "signed_in", None)
    if isinstance(current, SignedIn) and current.row.id == row.id:
        _clear_cookie(response, ctx.settings)
    return {"revoked": True}


@router.post("/password")
def change_password(
    body: PasswordChange,
    response: Response,
    signed_in: OwnSession,
    session: SessionDep,
    ctx: ContextDep,
) -> dict[str, int]:
    """Change your own password; every session, this one included, is revoked."""
    actor = signed_in.actor
    revoked = services.change_password(
        session,
        signed_in.staff,
        current_password=body.current_password.get_secret_value(),
        new_password=body.new_password.get_secret_value(),
        ctx=ctx,
        actor=actor,
    )
    _clear_cookie(response, ctx.settings)
    return {"sessions_revoked": revoked}


@router.post("/recovery-codes", dependencies=[require(Permission.SELF_MANAGE)])
def new_recovery_codes(actor: StepUpDep, session: SessionDep, ctx: ContextDep) -> RecoveryCodes:
    """Replace your recovery codes (step-up required); shown once."""
    staff = session.get(Staff, actor.staff_id)
    if staff is None:
        raise NotFound()
    return RecoveryCodes(recovery_codes=services.issue_recovery_codes(session, staff, ctx=ctx, actor=actor))


@router.post("/mfa-resets", status_code=201)
def request_mfa_reset(
    body: MfaResetRequestBody, admin: AdminActor, actor: StepUpDep, session: SessionDep, ctx: ContextDep
) -> MfaResetCreated:
    """First admin asks to reset someone's second factors; a different admin must approve."""
    target = services.staff_by_username(session, body.username)
    if target is None:
        raise NotFound()
    request = services.request_mfa_reset(session, target, reason=body.reason, actor=actor, now=ctx.now())
    return MfaResetCreated(id=request.id, expires_at=request.expires_at)


@router.post("/mfa-resets/{request_id}/approve")
def approve_mfa_reset(
    request_id: uuid.UUID, admin: AdminActor, actor: StepUpDep, session: SessionDep, ctx: ContextDep
) -> MfaResetApproved:
    """Second admin approves: factors and recovery codes are removed, sessions revoked, an alert raised."""
    target = services.approve_mfa_reset(session, request_id, actor=actor, now=ctx.now())
    return MfaResetApproved(username=target.username, reset=True)
