"""Shared fixtures for the redaction tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from casevault.redaction import Redactor


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    """One default redactor: loading lexicons once keeps the suite fast."""
    return Redactor()


Found = Callable[[str], list[tuple[str, str]]]


@pytest.fixture(scope="session")
def found(redactor: Redactor) -> Found:
    """(entity type, matched substring) for every span the default redactor finds, in order."""

    def run(text: str) -> list[tuple[str, str]]:
        return [(span.entity_type, text[span.start : span.end]) for span in redactor.detect(text)]

    return run
