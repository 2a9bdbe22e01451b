"""Staff identity: accounts, roles, API tokens, passwords, second factors, sessions and step-up."""

from casevault.identity.clock import Clock, FixedClock, SystemClock
from casevault.identity.models import (
    ApiToken,
    MfaResetRequest,
    RecoveryCode,
    Role,
    SigninThrottle,
    Staff,
    StaffSession,
    StaffStatus,
    TotpFactor,
    WebauthnChallenge,
    WebauthnCredential,
)
from casevault.identity.passwords import PasswordPolicy
from casevault.identity.services import (
    IdentityContext,
    ProvisionedCredentials,
    provision_credentials,
    reset_mfa,
    revoke_all_sessions,
    set_password,
    unlock_account,
)
from casevault.identity.tokens import TOKEN_PREFIX, authenticate_token, issue_token, revoke_token

__all__ = [
    "TOKEN_PREFIX",
    "ApiToken",
    "Clock",
    "FixedClock",
    "IdentityContext",
    "MfaResetRequest",
    "PasswordPolicy",
    "ProvisionedCredentials",
    "RecoveryCode",
    "Role",
    "SigninThrottle",
    "Staff",
    "StaffSession",
    "StaffStatus",
    "SystemClock",
    "TotpFactor",
    "WebauthnChallenge",
    "WebauthnCredential",
    "authenticate_token",
    "issue_token",
    "provision_credentials",
    "reset_mfa",
    "revoke_all_sessions",
    "revoke_token",
    "set_password",
    "unlock_account",
]
