"""TOTP (RFC 6238) with a ±1 step window, each time-step accepted at most once per account."""

from __future__ import annotations

import base64
import hmac
import io
import uuid
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg

from casevault.crypto.providers import KeyProvider

__all__ = [
    "TOTP_DIGITS",
    "TOTP_PERIOD",
    "matching_step",
    "new_secret",
    "provisioning_uri",
    "qr_svg_data_uri",
    "unwrap_secret",
    "wrap_secret",
]

TOTP_PERIOD = 30
TOTP_DIGITS = 6
# One step either side absorbs clock drift and slow typing (800-63B allows it; more would widen replay).
_WINDOW = (-1, 0, 1)


def new_secret() -> str:
    """A 160-bit base32 secret (RFC 4226 recommends at least 128 bits)."""
    return pyotp.random_base32(32)


def _context(staff_id: uuid.UUID) -> bytes:
    return b"casevault/totp/v1/" + staff_id.bytes


def wrap_secret(provider: KeyProvider, staff_id: uuid.UUID, secret: str) -> bytes:
    """Encrypt the secret under the key provider, bound to the staff member (a copied row will not open)."""
    return provider.wrap(secret.encode("ascii"), context=_context(staff_id))


def unwrap_secret(provider: KeyProvider, staff_id: uuid.UUID, wrapped: bytes) -> str:
    return provider.unwrap(wrapped, context=_context(staff_id)).decode("ascii")


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time-step whose code equals `code` within the window, or None; compares in constant time."""
    candidate = code.strip().replace(" ", "")
    if len(candidate) != TOTP_DIGITS or not candidate.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    current = int(at.timestamp()) // TOTP_PERIOD
    found: int | None = None
    for offset in _WINDOW:
        step = current + offset
        # Check every step (no early exit) so the time taken does not depend on which one matched.
        if hmac.compare_digest(totp.generate_otp(step), candidate) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, *, username: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps import."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
        name=username, issuer_name=issuer
    )


def qr_svg_data_uri(uri: str) -> str:
    """The URI as an SVG QR code in a data: URI (rendered locally; the secret never leaves the server otherwise)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
