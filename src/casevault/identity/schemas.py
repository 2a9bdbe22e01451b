"""Request and response shapes of the sign-in API. Secrets in requests are SecretStr so they never reach a repr."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = [
    "LoginRequest",
    "MfaResetApproved",
    "MfaResetCreated",
    "MfaResetRequestBody",
    "PasskeyAssertion",
    "PasskeyRegistration",
    "PasswordChange",
    "RecoveryCodeBody",
    "RecoveryCodes",
    "SessionInfo",
    "SessionList",
    "SessionSummary",
    "SignInStatus",
    "StepUpBody",
    "TotpCode",
    "TotpEnrolmentOut",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Strict):
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(min_length=1, max_length=1024)


class SignInStatus(BaseModel):
    """Where sign-in stands; `csrf_token` goes in the X-CSRF-Token header of every unsafe request."""

    mfa_complete: bool
    enrolment_required: bool
    methods: list[str]
    csrf_token: str = Field(repr=False)
    recovery_codes: list[str] | None = Field(default=None, repr=False)


class SessionInfo(SignInStatus):
    username: str
    role: str
    expires_at: datetime
    step_up_until: datetime | None


class TotpEnrolmentOut(BaseModel):
    """Shown once: the secret, the otpauth URI and the same URI as an SVG QR code data URI."""

    secret: str = Field(repr=False)
    otpauth_uri: str = Field(repr=False)
    qr_svg: str = Field(repr=False)


class TotpCode(_Strict):
    code: SecretStr = Field(min_length=6, max_length=10)


class RecoveryCodeBody(_Strict):
    code: SecretStr = Field(min_length=8, max_length=64)


class PasskeyRegistration(_Strict):
    credential: dict[str, Any]
    name: str = Field(default="passkey", max_length=100)


class PasskeyAssertion(_Strict):
    credential: dict[str, Any]


class StepUpBody(_Strict):
    """Either a TOTP code or a passkey assertion (from /auth/step-up/webauthn/options)."""

    code: SecretStr | None = Field(default=None, min_length=6, max_length=10)
    credential: dict[str, Any] | None = None


class PasswordChange(_Strict):
    current_password: SecretStr = Field(min_length=1, max_length=1024)
    new_password: SecretStr = Field(min_length=1, max_length=1024)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(repr=False)


class SessionSummary(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip_prefix: str | None
    user_agent: str
    mfa_method: str | None
    current: bool


class SessionList(BaseModel):
    sessions: list[SessionSummary]


class MfaResetRequestBody(_Strict):
    username: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=3, max_length=200)


class MfaResetCreated(BaseModel):
    id: uuid.UUID
    expires_at: datetime


class MfaResetApproved(BaseModel):
    username: str
    reset: bool
