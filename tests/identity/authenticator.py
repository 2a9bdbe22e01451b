"""A software WebAuthn authenticator built on `cryptography`: real "none" or "packed" attestation and assertions.

soft-webauthn (also used in the tests) never sets the user-verified flag and only produces "none" attestation,
so step-up (which requires user verification) and packed attestation are exercised with this one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

_UP, _UV, _AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One ES256 credential; `attestation` is "none" or "packed" (self attestation)."""

    def __init__(self, *, attestation: str = "none", user_verification: bool = True) -> None:
        self.attestation = attestation
        self.user_verification = user_verification
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.rp_id: str | None = None

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _flags(self, *, verified: bool, attested: bool = False) -> int:
        return _UP | (_UV if verified else 0) | (_AT if attested else 0)

    def _sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def create(self, options: dict[str, Any], origin: str) -> dict[str, Any]:
        """navigator.credentials.create(): returns the JSON a browser would send."""
        self.rp_id = options["rp"]["id"]
        assert isinstance(self.rp_id, str)
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": options["challenge"], "origin": origin, "crossOrigin": False}
        ).encode()
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([self._flags(verified=self.user_verification, attested=True)])
            + struct.pack(">I", self.sign_count)
            + b"\x00" * 16
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        if self.attestation == "packed":
            statement: dict[str, Any] = {
                "alg": -7,
                "sig": self._sign(auth_data + hashlib.sha256(client_data).digest()),
            }
        else:
            statement = {}
        attestation_object = cbor2.dumps({"fmt": self.attestation, "attStmt": statement, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation_object)},
            "clientExtensionResults": {},
        }

    def get(self, options: dict[str, Any], origin: str, *, verified: bool | None = None) -> dict[str, Any]:
        """navigator.credentials.get(): an assertion over the challenge with the next counter value."""
        assert self.rp_id is not None
        assert options["rpId"] == self.rp_id
        self.sign_count += 1
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": options["challenge"], "origin": origin, "crossOrigin": False}
        ).encode()
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([self._flags(verified=self.user_verification if verified is None else verified)])
            + struct.pack(">I", self.sign_count)
        )
        signature = self._sign(auth_data + hashlib.sha256(client_data).digest())
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }
