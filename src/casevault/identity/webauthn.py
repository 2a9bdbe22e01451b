"""WebAuthn passkeys through the `webauthn` package: options out, verified credentials in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from casevault.config import Settings

__all__ = [
    "AuthenticationCheck",
    "PasskeyRejected",
    "RegisteredPasskey",
    "authentication_options",
    "expected_origins",
    "registration_options",
    "verify_authentication",
    "verify_registration",
]

_TIMEOUT_MS = 120_000


class PasskeyRejected(Exception):
    """The browser's answer did not verify (wrong challenge, origin, signature, counter or flags)."""


@dataclass(frozen=True)
class RegisteredPasskey:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    backed_up: bool
    user_verified: bool


@dataclass(frozen=True)
class AuthenticationCheck:
    new_sign_count: int
    backed_up: bool
    user_verified: bool


def expected_origins(settings: Settings) -> list[str]:
    """Origins a browser may report: configured ones, or the local server on the RP id."""
    if settings.webauthn_origins:
        return list(settings.webauthn_origins)
    host = settings.webauthn_rp_id
    return [f"http://{host}:{settings.port}", f"https://{host}:{settings.port}", f"https://{host}"]


def registration_options(
    settings: Settings, *, staff_id: uuid.UUID, username: str, display_name: str, existing: Iterable[bytes]
) -> tuple[dict[str, Any], bytes]:
    """Options for navigator.credentials.create() and the challenge to keep server-side."""
    options = generate_registration_options(
        rp_id=settings.webauthn_rp_id,
        rp_name=settings.mfa_issuer,
        user_id=staff_id.bytes,
        user_name=username,
        user_display_name=display_name,
        timeout=_TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=credential) for credential in existing],
    )
    return json.loads(options_to_json(options)), options.challenge


def verify_registration(settings: Settings, credential: dict[str, Any], *, challenge: bytes) -> RegisteredPasskey:
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=expected_origins(settings),
            require_user_presence=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRejected(type(exc).__name__) from None
    return RegisteredPasskey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=str(verified.aaguid),
        backed_up=verified.credential_backed_up,
        user_verified=verified.user_verified,
    )


def authentication_options(
    settings: Settings, *, allowed: Sequence[bytes], require_user_verification: bool
) -> tuple[dict[str, Any], bytes]:
    """Options for navigator.credentials.get() restricted to the account's own passkeys."""
    options = generate_authentication_options(
        rp_id=settings.webauthn_rp_id,
        timeout=_TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=credential) for credential in allowed],
        user_verification=(
            UserVerificationRequirement.REQUIRED if require_user_verification else UserVerificationRequirement.PREFERRED
        ),
    )
    return json.loads(options_to_json(options)), options.challenge


def verify_authentication(
    settings: Settings,
    credential: dict[str, Any],
    *,
    challenge: bytes,
    public_key: bytes,
    sign_count: int,
    require_user_verification: bool,
) -> AuthenticationCheck:
    """Verify an assertion; the package rejects a counter that did not grow (unless both are 0)."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=expected_origins(settings),
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
            require_user_verification=require_user_verification,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRejected(type(exc).__name__) from None
    return AuthenticationCheck(
        new_sign_count=verified.new_sign_count,
        backed_up=verified.credential_backed_up,
        user_verified=verified.user_verified,
    )
