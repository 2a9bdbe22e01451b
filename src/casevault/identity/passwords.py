"""Passwords: argon2id hashing, the NIST 800-63B acceptance rules, and a dummy check for unknown accounts."""

from __future__ import annotations

import gzip
import secrets
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from casevault.config import Settings
from casevault.errors import InvalidInput

__all__ = ["MAX_PASSWORD_LENGTH", "PasswordPolicy", "common_passwords", "normalize_password"]

# Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
MAX_PASSWORD_LENGTH = 256
_CONTEXT_WORDS = ("casevault", "password", "support")
_TRAILING_NOISE = "0123456789!@#$%^&*()-_=+.?,;:~ "


def normalize_password(password: str) -> str:
    """NFKC, as 800-63B asks, so the same passphrase typed on two keyboards hashes the same."""
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of the 30,000 most common leaked passwords (see ADR 0501)."""
    raw = resources.files("casevault.identity").joinpath("data/common-passwords.txt.gz").read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


@dataclass(frozen=True)
class PasswordPolicy:
    """Hashing parameters and acceptance rules, built from Settings."""

    min_length: int
    time_cost: int
    memory_kib: int
    parallelism: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordPolicy:
        return cls(
            min_length=settings.password_min_length,
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )

    @cached_property
    def hasher(self) -> PasswordHasher:
        return _hasher(self.time_cost, self.memory_kib, self.parallelism)

    @property
    def dummy_hash(self) -> str:
        """A hash with the live parameters, verified for unknown accounts so they cost the same to reject."""
        return _dummy_hash(self.time_cost, self.memory_kib, self.parallelism)

    def check_acceptable(self, password: str, *, username: str) -> None:
        """Raise InvalidInput naming the rule (never the value) when the password may not be used."""
        value = normalize_password(password)
        if len(value) < self.min_length:
            raise InvalidInput(f"password too short: use at least {self.min_length} characters")
        if len(value) > MAX_PASSWORD_LENGTH:
            raise InvalidInput(f"password too long: use at most {MAX_PASSWORD_LENGTH} characters")
        lowered = value.lower()
        if len(set(lowered)) < 4:
            raise InvalidInput("password too repetitive")
        common = common_passwords()
        base = lowered.rstrip(_TRAILING_NOISE)
        if lowered in common or (len(base) >= 4 and base in common):
            raise InvalidInput("password is on the list of common or breached passwords")
        name = username.lower()
        if len(name) >= 3 and name in lowered:
            raise InvalidInput("password must not contain the username")
        if any(
            lowered.startswith(word) and lowered[len(word) :].strip(_TRAILING_NOISE) == "" for word in _CONTEXT_WORDS
        ):
            raise InvalidInput("password is too close to the service name")

    def hash(self, password: str) -> str:
        return self.hasher.hash(normalize_password(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Constant-work check: with no stored hash the dummy is verified so timing does not reveal the account."""
        candidate = normalize_password(password)[: MAX_PASSWORD_LENGTH * 4]
        target = stored_hash if stored_hash else self.dummy_hash
        try:
            matched = self.hasher.verify(target, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and bool(stored_hash)

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_kib, parallelism).hash(secrets.token_urlsafe(16))
