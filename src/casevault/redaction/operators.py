"""What replaces a detected span: a mask, the entity type, or a keyed deterministic token."""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

from casevault.redaction.recognizers.email import canonical_email
from casevault.redaction.recognizers.network import canonical_ip
from casevault.redaction.recognizers.phone import canonical_phone

__all__ = ["Mask", "Operator", "ReplaceWithType", "Tokenize", "canonical_value"]


class Operator(Protocol):
    """Turns one detected value into its replacement text."""

    tokenizes: bool

    def replace(self, entity_type: str, value: str) -> str:
        """The text that stands in for `value` in the redacted output."""
        ...


class Mask:
    """Replace every character of the value with `char` (default `*`), keeping the text's length."""

    tokenizes = False

    def __init__(self, char: str = "*") -> None:
        if len(char) != 1:
            raise ValueError("mask char must be a single character")
        self.char = char

    def replace(self, entity_type: str, value: str) -> str:
        return "".join(char if char in "\n" else self.char for char in value)

    def __repr__(self) -> str:
        return f"Mask(char={self.char!r})"


class ReplaceWithType:
    """Replace the value with its entity type in angle brackets, e.g. `<EMAIL_ADDRESS>`."""

    tokenizes = False

    def replace(self, entity_type: str, value: str) -> str:
        return f"<{entity_type}>"

    def __repr__(self) -> str:
        return "ReplaceWithType()"


def canonical_value(entity_type: str, value: str) -> str:
    """The value in a canonical spelling, so `j.doe [at] x [dot] com` and `J.Doe@x.com` get the same token."""
    if entity_type == "EMAIL_ADDRESS":
        return canonical_email(value)
    if entity_type == "PHONE_NUMBER":
        return canonical_phone(value)
    if entity_type == "IP_ADDRESS":
        return canonical_ip(value)
    if entity_type in ("CREDIT_CARD", "IBAN_CODE", "US_SSN", "MAC_ADDRESS"):
        return "".join(char for char in value if char.isalnum()).upper()
    if entity_type in ("PERSON", "LOCATION", "STREET_ADDRESS"):
        return " ".join(value.replace(",", " ").split()).casefold()
    return value.strip()


class Tokenize:
    """Replace the value with `[TYPE:hex]`, hex = HMAC-SHA256(key, type NUL canonical value), truncated.

    The same value under the same key always gives the same token, so one customer's email maps to one token
    across all their cases; without the key a token cannot be linked to a guessed value.
    """

    tokenizes = True

    def __init__(self, key: bytes, *, hex_chars: int = 12) -> None:
        if len(key) < 16:
            raise ValueError("tokenization key must be at least 16 bytes")
        if not 12 <= hex_chars <= 64:
            raise ValueError("hex_chars must be between 12 and 64")
        self._key = bytes(key)
        self.hex_chars = hex_chars

    def replace(self, entity_type: str, value: str) -> str:
        message = f"{entity_type}\0{canonical_value(entity_type, value)}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return f"[{entity_type}:{digest[: self.hex_chars]}]"

    def __repr__(self) -> str:
        return f"Tokenize(key=<redacted>, hex_chars={self.hex_chars})"
