"""Redactor configuration: which entities, thresholds, allow- and deny-lists, time budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["DEFAULT_ENTITIES", "RedactorConfig"]

DEFAULT_ENTITIES: frozenset[str] = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "IP_ADDRESS",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "URL",
        "MAC_ADDRESS",
        "CRYPTO",
        "CREDENTIAL",
        "PERSON",
        "LOCATION",
        "STREET_ADDRESS",
    }
)


@dataclass(frozen=True, slots=True)
class RedactorConfig:
    """Settings for one `Redactor`; the defaults suit support-ticket text (no DATE, no driver licences)."""

    entities: frozenset[str] = DEFAULT_ENTITIES
    default_threshold: float = 0.5
    thresholds: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    # Values that are never redacted (compared case-insensitively), e.g. the company's own support address.
    allow_list: frozenset[str] = frozenset()
    # Emails and URLs at these domains (and their subdomains) are never redacted.
    allow_domains: frozenset[str] = frozenset()
    # Literal terms always redacted, mapped to the entity type to report (e.g. {"Project Falcon": "PROJECT"}).
    deny_list: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Region used first when a phone number has no country prefix.
    default_region: str = "US"
    # Time budget for one detect() call: base seconds plus seconds per MB of text; past it the call fails
    # closed. Ordinary text scans at about 2 MB/s on one core, so the default leaves 20x headroom.
    time_budget_seconds: float = 2.0
    time_budget_seconds_per_mb: float = 10.0
    # Use the spaCy NER recognizer for PERSON/LOCATION when an English model is importable.
    use_spacy: bool = False

    def threshold(self, entity_type: str) -> float:
        """Minimum score for a span of this entity type to be kept."""
        return self.thresholds.get(entity_type, self.default_threshold)
