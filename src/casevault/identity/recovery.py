"""One-time recovery codes: 120 random bits each, shown once, stored as SHA-256."""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["RECOVERY_CODE_COUNT", "format_code", "hash_code", "new_codes"]

RECOVERY_CODE_COUNT = 10
_GROUP = 4
_LOOKALIKES = str.maketrans("018", "OIB")


def new_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh codes like `ABCD-EFGH-IJKL-MNOP-QRST-UVWX` (24 base32 characters = 120 bits)."""
    return [format_code(base64.b32encode(secrets.token_bytes(15)).decode("ascii")) for _ in range(count)]


def format_code(raw: str) -> str:
    compact = _compact(raw)
    return "-".join(compact[i : i + _GROUP] for i in range(0, len(compact), _GROUP))


def _compact(code: str) -> str:
    # Forgiving input: case, spaces and dashes do not matter; 0/1 typed for O/I are mapped back.
    cleaned = code.upper().replace("-", "").replace(" ", "")
    return cleaned.translate(_LOOKALIKES)


def hash_code(code: str) -> bytes:
    """The stored verifier. At 120 bits of entropy an unsalted SHA-256 meets 800-63B 5.1.2.2 (≥ 112 bits)."""
    return hashlib.sha256(b"casevault/recovery/v1/" + _compact(code).encode("ascii", "replace")).digest()
