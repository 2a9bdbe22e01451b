"""Envelope encryption for PII: key providers, per-owner data keys, sealed values and blind indexes."""

from casevault.crypto.keyring import Keyring, KeyShredded, OwnerKey, SealError, aad_for, normalize_email
from casevault.crypto.models import DataKey
from casevault.crypto.providers import KeyFileError, KeyProvider, LocalKeyFile, UnwrapError

__all__ = [
    "DataKey",
    "KeyFileError",
    "KeyProvider",
    "KeyShredded",
    "Keyring",
    "LocalKeyFile",
    "OwnerKey",
    "SealError",
    "UnwrapError",
    "aad_for",
    "normalize_email",
]
