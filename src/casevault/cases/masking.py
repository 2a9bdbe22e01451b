"""Masked forms of structured PII for default views: enough to recognise a value, not to use it."""

from __future__ import annotations

import phonenumbers

__all__ = ["mask_email", "mask_name", "mask_phone"]

_DOT = "•"


def mask_email(email: str) -> str:
    """`john.smith@example.co.uk` -> `j***@e***.co.uk`: first letters of local part and domain, and the suffix."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        return "***"
    labels = domain.split(".")
    if len(labels) == 1:
        return f"{local[0]}***@{labels[0][0]}***"
    # Keep a two-label public suffix like co.uk whole; the registrable label is the one shown masked.
    suffix_labels = 2 if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2 else 1
    suffix = ".".join(labels[-suffix_labels:])
    return f"{local[0]}***@{labels[0][0]}***.{suffix}"


def mask_phone(phone: str) -> str:
    """`+44 20 7946 0912` -> `+44 ••• ••• 12`: the country code and the last two digits only."""
    digits = "".join(char for char in phone if char.isdigit())
    if len(digits) < 4:
        return f"{_DOT * 3}"
    prefix = ""
    if phone.strip().startswith("+"):
        try:
            prefix = f"+{phonenumbers.parse(phone, None).country_code} "
        except phonenumbers.NumberParseException:
            prefix = "+"
    return f"{prefix}{_DOT * 3} {_DOT * 3} {digits[-2:]}"


def mask_name(name: str) -> str:
    """`John Smith` -> `J*** S***`: initials only."""
    parts = name.split()
    if not parts:
        return "***"
    return " ".join(f"{part[0]}***" for part in parts[:3])
