"""What changes sign-in state: passwords, throttles, second factors, sessions, step-up and MFA resets."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casevault.access.actor import Actor, AuthMethod
from casevault.audit.events import AuditAction, Outcome
from casevault.audit.trail import record
from casevault.config import Settings
from casevault.crypto.keyring import Keyring
from casevault.detection.models import AlertKind, Severity
from casevault.detection.services import raise_alert
from casevault.errors import AuthenticationRequired, CasevaultError, Conflict, InvalidInput, NotFound, RateLimited
from casevault.identity import recovery, totp
from casevault.identity import webauthn as passkeys
from casevault.identity.clock import Clock
from casevault.identity.models import (
    MfaResetRequest,
    RecoveryCode,
    SigninThrottle,
    Staff,
    StaffSession,
    StaffStatus,
    TotpFactor,
    WebauthnChallenge,
    WebauthnCredential,
)
from casevault.identity.passwords import PasswordPolicy
from casevault.identity.sessions import (
    ClientBinding,
    SessionTimeouts,
    create_session,
    revoke_all_sessions_of,
    revoke_session,
    rotate_session,
)

__all__ = [
    "MAX_SECOND_FACTOR_FAILURES",
    "CurrentPasswordIncorrect",
    "Factors",
    "IdentityContext",
    "ProvisionedCredentials",
    "SecondFactorFailed",
    "SignIn",
    "SignInFailed",
    "SignInThrottled",
    "TotpEnrolment",
    "approve_mfa_reset",
    "authenticate_passkey",
    "change_password",
    "complete_second_factor",
    "factors_of",
    "issue_recovery_codes",
    "note_second_factor_failure",
    "passkey_authentication_options",
    "passkey_registration_options",
    "provision_credentials",
    "register_passkey",
    "request_mfa_reset",
    "reset_mfa",
    "revoke_all_sessions",
    "session_actor",
    "set_password",
    "sign_in_with_password",
    "staff_by_username",
    "start_totp_enrolment",
    "unlock_account",
    "use_recovery_code",
    "verify_totp",
]

_ACCOUNT = "account"
_ADDRESS = "address"
_ACCOUNT_WINDOW = timedelta(hours=24)
_ADDRESS_WINDOW = timedelta(hours=1)
_BACKOFF_BASE = timedelta(seconds=30)
_BACKOFF_CAP = timedelta(minutes=15)
_CHALLENGE_TTL = timedelta(minutes=5)
_RESET_REQUEST_TTL = timedelta(hours=24)
# Guessing a 6-digit code at 5 tries per password sign-in (itself throttled) keeps the odds negligible.
MAX_SECOND_FACTOR_FAILURES = 5


class SignInFailed(AuthenticationRequired):
    """Wrong username or password (one message for both, so accounts cannot be enumerated)."""

    code = "signin_failed"
    public_message = "username or password is incorrect"


class SignInThrottled(RateLimited):
    """Too many failures for this account name or client address."""

    public_message = "too many failed sign-ins; wait and try again, or ask an administrator to unlock the account"


class SecondFactorFailed(AuthenticationRequired):
    """The code, recovery code or passkey answer was not accepted."""

    code = "mfa_failed"
    public_message = "the second factor was not accepted"


class CurrentPasswordIncorrect(CasevaultError):
    """A password change whose current password did not match (audited, so the denial is kept)."""

    status_code = 422
    code = "invalid"
    public_message = "current password is incorrect"
    commit_before_raise = True


@dataclass(frozen=True)
class IdentityContext:
    """What sign-in services need from the runtime: settings, key material and the clock."""

    settings: Settings
    keyring: Keyring
    clock: Clock

    @property
    def policy(self) -> PasswordPolicy:
        return PasswordPolicy.from_settings(self.settings)

    @property
    def timeouts(self) -> SessionTimeouts:
        return SessionTimeouts(idle=self.settings.session_idle_timeout, absolute=self.settings.session_absolute_timeout)

    def now(self) -> datetime:
        return self.clock.now()


@dataclass(frozen=True)
class SignIn:
    """A password-checked session; `secret` goes into the cookie and nowhere else."""

    row: StaffSession
    staff: Staff
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Factors:
    """Which second factors a staff member has."""

    totp: bool
    totp_pending: bool
    passkeys: int
    recovery_codes_left: int

    @property
    def enrolment_required(self) -> bool:
        return not self.totp and self.passkeys == 0

    @property
    def methods(self) -> list[str]:
        found = (["webauthn"] if self.passkeys else []) + (["totp"] if self.totp else [])
        return [*found, "recovery"] if self.recovery_codes_left and found else found


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str = field(repr=False)
    otpauth_uri: str = field(repr=False)
    qr_svg: str = field(repr=False)


@dataclass(frozen=True)
class ProvisionedCredentials:
    """What the demo prints: the TOTP secret and its otpauth URI (the password is the caller's own)."""

    totp_secret: str = field(repr=False)
    otpauth_uri: str = field(repr=False)


def staff_by_username(session: Session, username: str) -> Staff | None:
    return session.scalars(select(Staff).where(Staff.username == username.strip())).one_or_none()


def session_actor(staff: Staff, row: StaffSession, *, ip_prefix: str | None) -> Actor:
    """The actor behind a cookie session; `mfa_verified_at` is the last check that qualifies for step-up."""
    return Actor(
        staff_id=staff.id,
        username=staff.username,
        role=staff.role,
        method=AuthMethod.SESSION,
        session_ref=f"session:{row.id.hex[:16]}",
        ip_prefix=ip_prefix,
        mfa_verified_at=row.stepped_up_at,
    )


def _anonymous(ip_prefix: str | None) -> Actor:
    return Actor(staff_id=None, username="anonymous", role=None, method=AuthMethod.SESSION, ip_prefix=ip_prefix)


# --- throttling ---------------------------------------------------------------------------------------------


def _throttle(session: Session, scope: str, key: bytes, now: datetime) -> SigninThrottle:
    """The counter row, locked for update so concurrent failures are all counted (PostgreSQL row lock)."""
    row = session.get(SigninThrottle, (scope, key), with_for_update=True, populate_existing=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = SigninThrottle(scope=scope, key_hash=key, failures=0, window_started_at=now, locked=False)
            session.add(row)
    except IntegrityError:
        # A concurrent request created it first: count on that row instead.
        row = session.get(SigninThrottle, (scope, key), with_for_update=True, populate_existing=True)
        assert row is not None
    return row


def _blocked(row: SigninThrottle | None, now: datetime) -> bool:
    return row is not None and (row.locked or (row.blocked_until is not None and now < row.blocked_until))


def _account_key(keyring: Keyring, username: str) -> bytes:
    # Keyed hash of the name as typed (known or not), so a locked unknown name looks like a locked real one.
    return keyring.blind_index("signin-account", username.strip().lower())


def _address_key(keyring: Keyring, client_host: str | None) -> bytes:
    return keyring.blind_index("signin-address", client_host or "unknown")


def _count_failure(session: Session, ctx: IdentityContext, *, account: bytes, address: bytes, now: datetime) -> bool:
    """Count one failure against the name and the address; True when the account just became locked."""
    settings = ctx.settings
    acct = _throttle(session, _ACCOUNT, account, now)
    if now - acct.window_started_at >= _ACCOUNT_WINDOW:
        acct.failures, acct.window_started_at = 0, now
    acct.failures += 1
    just_locked = False
    if acct.failures >= settings.signin_lockout_after and not acct.locked:
        acct.locked = True
        just_locked = True
    elif acct.failures >= settings.signin_backoff_after:
        delay = _BACKOFF_BASE * (2 ** (acct.failures - settings.signin_backoff_after))
        acct.blocked_until = now + min(delay, _BACKOFF_CAP)
    addr = _throttle(session, _ADDRESS, address, now)
    if now - addr.window_started_at >= _ADDRESS_WINDOW:
        addr.failures, addr.window_started_at, addr.blocked_until = 0, now, None
    addr.failures += 1
    if addr.failures >= settings.signin_ip_failures_per_hour:
        addr.blocked_until = addr.window_started_at + _ADDRESS_WINDOW
    session.flush()
    return just_locked


def _record_on_staff(
    session: Session, staff_id: uuid.UUID, action: AuditAction, *, actor: Actor, **fields: Any
) -> None:
    """Audit an action on a staff account: the staff row is the target of every event of this module."""
    record(session, actor=actor, action=action, target_type="staff", target_id=str(staff_id), **fields)


def unlock_account(session: Session, staff: Staff, *, keyring: Keyring, actor: Actor) -> bool:
    """Clear the account's failure counter and lock; False when it was not throttled."""
    result = session.execute(
        delete(SigninThrottle).where(
            SigninThrottle.scope == _ACCOUNT, SigninThrottle.key_hash == _account_key(keyring, staff.username)
        )
    )
    cleared = bool(getattr(result, "rowcount", 0))
    _record_on_staff(session, staff.id, AuditAction.STAFF_UNLOCKED, actor=actor, detail={"was_throttled": cleared})
    return cleared


# --- passwords ----------------------------------------------------------------------------------------------


def sign_in_with_password(
    session: Session,
    *,
    username: str,
    password: str,
    binding: ClientBinding,
    client_host: str | None,
    ctx: IdentityContext,
) -> SignIn:
    """Check a password and open a password-only session; one error for every failure, throttled per name and IP."""
    now = ctx.now()
    account = _account_key(ctx.keyring, username)
    address = _address_key(ctx.keyring, client_host)
    anonymous = _anonymous(binding.ip_prefix)
    if _blocked(session.get(SigninThrottle, (_ACCOUNT, account)), now) or _blocked(
        session.get(SigninThrottle, (_ADDRESS, address)), now
    ):
        record(
            session,
            actor=anonymous,
            action=AuditAction.SIGNIN_FAILED,
            outcome=Outcome.DENIED,
            reason="throttled: account name or address backed off or locked",
        )
        raise SignInThrottled()

    staff = staff_by_username(session, username)
    policy = ctx.policy
    # Always one argon2 verification: against the real hash, or the dummy for unknown names.
    matched = policy.verify(staff.password_hash if staff is not None else None, password)
    if staff is None or not matched or staff.status != StaffStatus.ACTIVE:
        reason = "unknown account" if staff is None else ("suspended" if matched else "wrong password")
        record(
            session,
            actor=anonymous,
            action=AuditAction.SIGNIN_FAILED,
            outcome=Outcome.DENIED,
            target_type="staff" if staff is not None else None,
            target_id=str(staff.id) if staff is not None else None,
            reason=reason,
        )
        if _count_failure(session, ctx, account=account, address=address, now=now):
            record(
                session,
                actor=anonymous,
                action=AuditAction.SIGNIN_LOCKED_OUT,
                outcome=Outcome.DENIED,
                target_type="staff" if staff is not None else None,
                target_id=str(staff.id) if staff is not None else None,
                reason="too many consecutive failures",
            )
            if staff is not None:
                raise_alert(
                    session,
                    kind=AlertKind.SIGNIN_LOCKED_OUT,
                    severity=Severity.MEDIUM,
                    actor=anonymous,
                    subject_staff_id=staff.id,
                    detail={"failures": ctx.settings.signin_lockout_after},
                )
        raise SignInFailed()

    assert staff.password_hash is not None  # matched is False without a stored hash
    if policy.needs_rehash(staff.password_hash):
        staff.password_hash = policy.hash(password)
    session.execute(delete(SigninThrottle).where(SigninThrottle.scope == _ACCOUNT, SigninThrottle.key_hash == account))
    row, secret = create_session(session, staff, binding=binding, now=now, timeouts=ctx.timeouts)
    actor = session_actor(staff, row, ip_prefix=binding.ip_prefix)
    record(session, actor=actor, action=AuditAction.SIGNIN_SUCCEEDED, detail={"factor": "password"})
    record(
        session,
        actor=actor,
        action=AuditAction.SESSION_CREATED,
        target_type="session",
        target_id=str(row.id),
        detail={"mfa": "pending", "user_agent": row.user_agent_label},
    )
    return SignIn(row=row, staff=staff, secret=secret)


def set_password(session: Session, staff: Staff, password: str, *, ctx: IdentityContext, actor: Actor) -> int:
    """Set a new password after the policy check; every session of the account is revoked. Returns how many."""
    policy = ctx.policy
    policy.check_acceptable(password, username=staff.username)
    now = ctx.now()
    staff.password_hash = policy.hash(password)
    staff.password_changed_at = now
    revoked = revoke_all_sessions_of(session, staff.id, now=now, reason="password changed")
    _record_on_staff(session, staff.id, AuditAction.PASSWORD_CHANGED, actor=actor, detail={"sessions_revoked": revoked})
    return revoked


def change_password(
    session: Session, staff: Staff, *, current_password: str, new_password: str, ctx: IdentityContext, actor: Actor
) -> int:
    """The signed-in user's own change: the current password must match first."""
    if not ctx.policy.verify(staff.password_hash, current_password):
        _record_on_staff(
            session,
            staff.id,
            AuditAction.PASSWORD_CHANGED,
            actor=actor,
            outcome=Outcome.DENIED,
            reason="current password did not match",
        )
        raise CurrentPasswordIncorrect()
    return set_password(session, staff, new_password, ctx=ctx, actor=actor)


def revoke_all_sessions(session: Session, staff: Staff, *, actor: Actor, reason: str, now: datetime) -> int:
    """Revoke every live session of a staff member (suspension, compromise); audited."""
    revoked = revoke_all_sessions_of(session, staff.id, now=now, reason=reason)
    _record_on_staff(
        session,
        staff.id,
        AuditAction.SESSION_REVOKED,
        actor=actor,
        reason=reason[:200],
        detail={"sessions_revoked": revoked},
    )
    return revoked


# --- second factors -----------------------------------------------------------------------------------------


def factors_of(session: Session, staff_id: uuid.UUID) -> Factors:
    factor = session.get(TotpFactor, staff_id)
    passkey_count = session.scalar(
        select(func.count()).select_from(WebauthnCredential).where(WebauthnCredential.staff_id == staff_id)
    )
    codes_left = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.staff_id == staff_id, RecoveryCode.used_at.is_(None))
    )
    return Factors(
        totp=factor is not None and factor.confirmed_at is not None,
        totp_pending=factor is not None and factor.confirmed_at is None,
        passkeys=int(passkey_count or 0),
        recovery_codes_left=int(codes_left or 0),
    )


def complete_second_factor(
    session: Session, row: StaffSession, staff: Staff, *, method: str, step_up: bool, ctx: IdentityContext
) -> str:
    """Mark the session MFA-complete, or stepped-up when the factor qualifies; rotates the cookie secret.

    The sign-in's own second factor is not a step-up (docs/adr/0509-…): a cookie stolen right after sign-in must
    not carry the power to reveal PII or read past the soft budget; only a check made later on the session does.
    """
    now = ctx.now()
    first = row.mfa_completed_at is None
    if first:
        row.mfa_method = method
        row.mfa_completed_at = now
    elif step_up:
        row.stepped_up_at = now
    secret = rotate_session(row)
    actor = session_actor(staff, row, ip_prefix=row.ip_prefix)
    record(
        session,
        actor=actor,
        action=AuditAction.MFA_VERIFIED if first else AuditAction.STEP_UP_SUCCEEDED,
        detail={"method": method, "step_up": step_up},
    )
    record(session, actor=actor, action=AuditAction.SESSION_ROTATED, target_type="session", target_id=str(row.id))
    return secret


def note_second_factor_failure(row: StaffSession, *, ctx: IdentityContext) -> bool:
    """Count a wrong second-factor answer; True when the session was revoked for too many."""
    row.mfa_failures += 1
    if row.mfa_failures >= MAX_SECOND_FACTOR_FAILURES:
        revoke_session(row, now=ctx.now(), reason="too many mfa failures")
        return True
    return False


def start_totp_enrolment(session: Session, staff: Staff, *, ctx: IdentityContext, actor: Actor) -> TotpEnrolment:
    """A fresh secret to scan; it becomes a factor when the first code from it is verified."""
    existing = session.get(TotpFactor, staff.id)
    if existing is not None and existing.confirmed_at is not None:
        raise Conflict()
    secret = totp.new_secret()
    wrapped = totp.wrap_secret(ctx.keyring.provider, staff.id, secret)
    if existing is None:
        session.add(TotpFactor(staff_id=staff.id, secret_wrapped=wrapped, created_at=ctx.now()))
    else:
        existing.secret_wrapped, existing.created_at, existing.last_used_step = wrapped, ctx.now(), None
    uri = totp.provisioning_uri(secret, username=staff.username, issuer=ctx.settings.mfa_issuer)
    _record_on_staff(
        session,
        staff.id,
        AuditAction.MFA_ENROLLED,
        actor=actor,
        outcome=Outcome.FAILED,
        reason="totp enrolment started, awaiting first code",
        detail={"method": "totp"},
    )
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg_data_uri(uri))


def verify_totp(session: Session, staff: Staff, code: str, *, ctx: IdentityContext, actor: Actor) -> bool:
    """Accept a code once: the matched time-step must be newer than the last accepted one (atomic update)."""
    factor = session.get(TotpFactor, staff.id)
    step = None
    if factor is not None:
        secret = totp.unwrap_secret(ctx.keyring.provider, staff.id, factor.secret_wrapped)
        step = totp.matching_step(secret, code, ctx.now())
    accepted = False
    if factor is not None and step is not None:
        result = session.execute(
            update(TotpFactor)
            .where(
                TotpFactor.staff_id == staff.id,
                or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
            )
            .values(last_used_step=step)
            .execution_options(synchronize_session=False)
        )
        accepted = bool(getattr(result, "rowcount", 0))
        session.refresh(factor)
    if not accepted:
        record(
            session,
            actor=actor,
            action=AuditAction.MFA_FAILED,
            outcome=Outcome.DENIED,
            reason="totp code replayed" if step is not None else "totp code wrong or no totp factor",
            detail={"method": "totp"},
        )
        return False
    assert factor is not None
    if factor.confirmed_at is None:
        factor.confirmed_at = ctx.now()
        _record_on_staff(session, staff.id, AuditAction.MFA_ENROLLED, actor=actor, detail={"method": "totp"})
    return True


def _store_challenge(session: Session, row: StaffSession, purpose: str, challenge: bytes, now: datetime) -> None:
    session.execute(
        delete(WebauthnChallenge).where(WebauthnChallenge.session_id == row.id, WebauthnChallenge.purpose == purpose)
    )
    session.add(
        WebauthnChallenge(session_id=row.id, purpose=purpose, challenge=challenge, expires_at=now + _CHALLENGE_TTL)
    )
    session.flush()


def _take_challenge(session: Session, row: StaffSession, purpose: str, now: datetime) -> bytes | None:
    """Delete-and-return: a challenge answers at most one response, even under concurrent requests."""
    taken = session.execute(
        delete(WebauthnChallenge)
        .where(WebauthnChallenge.session_id == row.id, WebauthnChallenge.purpose == purpose)
        .returning(WebauthnChallenge.challenge, WebauthnChallenge.expires_at)
    ).all()
    live = [challenge for challenge, expires_at in taken if expires_at > now]
    return live[-1] if live else None


def passkey_registration_options(
    session: Session, row: StaffSession, staff: Staff, *, ctx: IdentityContext
) -> dict[str, Any]:
    existing = session.scalars(
        select(WebauthnCredential.credential_id).where(WebauthnCredential.staff_id == staff.id)
    ).all()
    options, challenge = passkeys.registration_options(
        ctx.settings,
        staff_id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        existing=existing,
    )
    _store_challenge(session, row, "register", challenge, ctx.now())
    return options


def register_passkey(
    session: Session,
    row: StaffSession,
    staff: Staff,
    credential: dict[str, Any],
    *,
    name: str,
    ctx: IdentityContext,
    actor: Actor,
) -> WebauthnCredential | None:
    """Verify a registration against the session's pending challenge; None (audited) when it does not verify."""
    challenge = _take_challenge(session, row, "register", ctx.now())
    try:
        if challenge is None:
            raise passkeys.PasskeyRejected("no pending challenge")
        verified = passkeys.verify_registration(ctx.settings, credential, challenge=challenge)
        if session.scalar(
            select(WebauthnCredential.id).where(WebauthnCredential.credential_id == verified.credential_id)
        ):
            raise passkeys.PasskeyRejected("credential already registered")
    except passkeys.PasskeyRejected as exc:
        _record_on_staff(
            session,
            staff.id,
            AuditAction.MFA_ENROLLED,
            actor=actor,
            outcome=Outcome.DENIED,
            reason=f"passkey registration rejected: {exc}"[:200],
            detail={"method": "webauthn"},
        )
        return None
    passkey = WebauthnCredential(
        staff_id=staff.id,
        credential_id=verified.credential_id,
        public_key=verified.public_key,
        sign_count=verified.sign_count,
        name=name[:100] or "passkey",
        aaguid=verified.aaguid,
        backed_up=verified.backed_up,
        created_at=ctx.now(),
    )
    session.add(passkey)
    session.flush()
    _record_on_staff(
        session,
        staff.id,
        AuditAction.MFA_ENROLLED,
        actor=actor,
        detail={"method": "webauthn", "passkey": str(passkey.id), "backed_up": verified.backed_up},
    )
    return passkey


def passkey_authentication_options(
    session: Session, row: StaffSession, staff: Staff, *, purpose: str, ctx: IdentityContext
) -> dict[str, Any]:
    """Options for sign-in (`signin`) or step-up (`step_up`, user verification required)."""
    allowed = session.scalars(
        select(WebauthnCredential.credential_id).where(WebauthnCredential.staff_id == staff.id)
    ).all()
    options, challenge = passkeys.authentication_options(
        ctx.settings, allowed=allowed, require_user_verification=purpose == "step_up"
    )
    _store_challenge(session, row, purpose, challenge, ctx.now())
    return options


def _raw_credential_id(credential: dict[str, Any]) -> bytes | None:
    raw = credential.get("rawId") or credential.get("id")
    if not isinstance(raw, str) or len(raw) > 1400:
        return None
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        return None


def authenticate_passkey(
    session: Session,
    row: StaffSession,
    staff: Staff,
    credential: dict[str, Any],
    *,
    purpose: str,
    ctx: IdentityContext,
    actor: Actor,
) -> passkeys.AuthenticationCheck | None:
    """Verify an assertion from one of the staff member's passkeys against the pending challenge (None: rejected)."""
    now = ctx.now()
    challenge = _take_challenge(session, row, purpose, now)
    credential_id = _raw_credential_id(credential)
    passkey = (
        session.scalars(
            select(WebauthnCredential).where(
                WebauthnCredential.credential_id == credential_id, WebauthnCredential.staff_id == staff.id
            )
        ).one_or_none()
        if credential_id is not None
        else None
    )
    try:
        if challenge is None:
            raise passkeys.PasskeyRejected("no pending challenge")
        if passkey is None:
            raise passkeys.PasskeyRejected("unknown passkey")
        check = passkeys.verify_authentication(
            ctx.settings,
            credential,
            challenge=challenge,
            public_key=passkey.public_key,
            sign_count=passkey.sign_count,
            require_user_verification=purpose == "step_up",
        )
    except passkeys.PasskeyRejected as exc:
        record(
            session,
            actor=actor,
            action=AuditAction.MFA_FAILED,
            outcome=Outcome.DENIED,
            reason=f"passkey rejected: {exc}"[:200],
            detail={"method": "webauthn", "purpose": purpose},
        )
        return None
    passkey.sign_count = check.new_sign_count
    passkey.backed_up = check.backed_up
    passkey.last_used_at = now
    return check


def issue_recovery_codes(session: Session, staff: Staff, *, ctx: IdentityContext, actor: Actor) -> list[str]:
    """Replace the account's recovery codes; the plaintext is returned once and never stored."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    codes = recovery.new_codes()
    now = ctx.now()
    for code in codes:
        session.add(RecoveryCode(staff_id=staff.id, code_hash=recovery.hash_code(code), created_at=now))
    _record_on_staff(session, staff.id, AuditAction.RECOVERY_CODES_ISSUED, actor=actor, detail={"count": len(codes)})
    return codes


def use_recovery_code(session: Session, staff: Staff, code: str, *, ctx: IdentityContext, actor: Actor) -> bool:
    """Spend one recovery code (atomic update, so it works once); audited either way."""
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.staff_id == staff.id,
            RecoveryCode.code_hash == recovery.hash_code(code[:64]),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    used = bool(getattr(result, "rowcount", 0))
    left = factors_of(session, staff.id).recovery_codes_left
    _record_on_staff(
        session,
        staff.id,
        AuditAction.RECOVERY_CODE_USED,
        actor=actor,
        outcome=Outcome.ALLOWED if used else Outcome.DENIED,
        detail={"codes_left": left},
    )
    return used


# --- MFA reset (two admins) ---------------------------------------------------------------------------------


def reset_mfa(session: Session, staff: Staff, *, actor: Actor, reason: str, now: datetime) -> None:
    """Remove every second factor and recovery code, revoke all sessions, audit and raise an alert."""
    session.execute(delete(TotpFactor).where(TotpFactor.staff_id == staff.id))
    passkeys_removed = session.execute(delete(WebauthnCredential).where(WebauthnCredential.staff_id == staff.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    revoked = revoke_all_sessions_of(session, staff.id, now=now, reason="mfa reset")
    _record_on_staff(
        session,
        staff.id,
        AuditAction.MFA_RESET,
        actor=actor,
        reason=reason[:200],
        detail={"sessions_revoked": revoked, "passkeys_removed": int(getattr(passkeys_removed, "rowcount", 0) or 0)},
    )
    # An MFA reset followed by a sign-in from somewhere new is the classic takeover: make it visible.
    raise_alert(
        session,
        kind=AlertKind.MFA_RESET,
        severity=Severity.HIGH,
        actor=actor,
        subject_staff_id=staff.id,
        detail={"via": str(actor.method)},
    )


def request_mfa_reset(session: Session, target: Staff, *, reason: str, actor: Actor, now: datetime) -> MfaResetRequest:
    """First admin's half of a reset; a different admin must approve within 24 hours."""
    if actor.staff_id is None or actor.staff_id == target.id:
        raise InvalidInput("use your recovery codes to reset your own second factors")
    if not reason.strip():
        raise InvalidInput("reason is required")
    request = MfaResetRequest(
        staff_id=target.id,
        requested_by=actor.staff_id,
        reason=reason.strip()[:200],
        created_at=now,
        expires_at=now + _RESET_REQUEST_TTL,
    )
    session.add(request)
    session.flush()
    _record_on_staff(
        session,
        target.id,
        AuditAction.MFA_RESET_REQUESTED,
        actor=actor,
        reason=request.reason,
        detail={"request": str(request.id)},
    )
    return request


def approve_mfa_reset(session: Session, request_id: uuid.UUID, *, actor: Actor, now: datetime) -> Staff:
    """Second admin's approval: must be someone other than the requester and the target; then the reset runs."""
    request = session.get(MfaResetRequest, request_id)
    if request is None or request.completed_at is not None or request.expires_at <= now:
        raise NotFound()
    if actor.staff_id is None or actor.staff_id in (request.requested_by, request.staff_id):
        _record_on_staff(
            session,
            request.staff_id,
            AuditAction.MFA_RESET_APPROVED,
            actor=actor,
            outcome=Outcome.DENIED,
            reason="approver must differ from requester and target",
            detail={"request": str(request.id)},
        )
        raise InvalidInput("a different administrator must approve this reset")
    target = session.get(Staff, request.staff_id)
    if target is None:
        raise NotFound()
    request.approved_by = actor.staff_id
    request.completed_at = now
    _record_on_staff(
        session,
        target.id,
        AuditAction.MFA_RESET_APPROVED,
        actor=actor,
        detail={"request": str(request.id), "requested_by": str(request.requested_by)},
    )
    reset_mfa(session, target, actor=actor, reason=request.reason, now=now)
    return target


# --- demo provisioning --------------------------------------------------------------------------------------


def provision_credentials(
    session: Session,
    staff: Staff,
    *,
    password: str,
    totp_secret: str | None = None,
    actor: Actor,
    ctx: IdentityContext,
) -> ProvisionedCredentials:
    """Set a password and an already-confirmed TOTP factor directly (demo seeding and operators' bootstrap)."""
    set_password(session, staff, password, ctx=ctx, actor=actor)
    secret = totp_secret or totp.new_secret()
    wrapped = totp.wrap_secret(ctx.keyring.provider, staff.id, secret)
    now = ctx.now()
    factor = session.get(TotpFactor, staff.id)
    if factor is None:
        session.add(TotpFactor(staff_id=staff.id, secret_wrapped=wrapped, created_at=now, confirmed_at=now))
    else:
        factor.secret_wrapped, factor.created_at, factor.confirmed_at, factor.last_used_step = wrapped, now, now, None
    _record_on_staff(
        session, staff.id, AuditAction.MFA_ENROLLED, actor=actor, detail={"method": "totp", "provisioned": True}
    )
    uri = totp.provisioning_uri(secret, username=staff.username, issuer=ctx.settings.mfa_issuer)
    return ProvisionedCredentials(totp_secret=secret, otpauth_uri=uri)
