"""Staff identity: accounts, roles, API tokens (sign-in, MFA and sessions build on these)."""

from casevault.identity.models import ApiToken, Role, Staff, StaffStatus
from casevault.identity.tokens import TOKEN_PREFIX, authenticate_token, issue_token, revoke_token

__all__ = [
    "TOKEN_PREFIX",
    "ApiToken",
    "Role",
    "Staff",
    "StaffStatus",
    "authenticate_token",
    "issue_token",
    "revoke_token",
]
