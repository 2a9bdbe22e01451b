"""Fail closed: a recognizer that raises or overruns its budget withholds the whole text."""

from __future__ import annotations

import time

import pytest

from casevault.redaction import RedactionFailed, Redactor, RedactorConfig, Tokenize
from casevault.redaction.recognizers import Doc, Found

SECRET_TEXT = "customer jane.doe@contoso.com secret plans"


class Exploding:
    name = "exploding"
    entities = frozenset({"PERSON"})

    def find(self, doc: Doc) -> list[Found]:
        raise ValueError(f"bad input {doc.text}")


class Slow:
    name = "slow"
    entities = frozenset({"PERSON"})

    def find(self, doc: Doc) -> list[Found]:
        time.sleep(0.05)
        return []


def test_a_raising_recognizer_fails_the_whole_text_without_echoing_it() -> None:
    redactor = Redactor(extra_recognizers=[Exploding()])
    with pytest.raises(RedactionFailed) as caught:
        redactor.redact(SECRET_TEXT, operator=Tokenize(b"k" * 32))
    assert caught.value.recognizer == "exploding"
    assert "jane" not in str(caught.value)
    assert caught.value.__cause__ is None
    with pytest.raises(RedactionFailed):
        redactor.detect(SECRET_TEXT)


def test_a_recognizer_over_its_time_budget_fails_closed() -> None:
    config = RedactorConfig(time_budget_seconds=0.001, time_budget_seconds_per_mb=0.0)
    redactor = Redactor(config, extra_recognizers=[Slow()])
    with pytest.raises(RedactionFailed, match="time budget"):
        redactor.redact(SECRET_TEXT)


def test_duplicate_recognizer_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        Redactor(extra_recognizers=[Exploding(), Exploding()])
