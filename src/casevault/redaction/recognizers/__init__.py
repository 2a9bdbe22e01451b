"""Recognizers: each finds one family of entities in normalised text and validates its candidates."""

from __future__ import annotations

from casevault.redaction.recognizers.address import AddressRecognizer
from casevault.redaction.recognizers.base import BudgetExceeded, Doc, Found, Recognizer
from casevault.redaction.recognizers.credential import CredentialRecognizer
from casevault.redaction.recognizers.email import EmailRecognizer
from casevault.redaction.recognizers.financial import (
    CardRecognizer,
    CryptoRecognizer,
    IbanRecognizer,
    SsnRecognizer,
)
from casevault.redaction.recognizers.names import NameAndPlaceRecognizer
from casevault.redaction.recognizers.network import IpRecognizer, MacRecognizer, UrlRecognizer
from casevault.redaction.recognizers.phone import PhoneRecognizer
from casevault.redaction.recognizers.spacy_ner import SpacyRecognizer, load_spacy_model

__all__ = [
    "AddressRecognizer",
    "BudgetExceeded",
    "CardRecognizer",
    "CredentialRecognizer",
    "CryptoRecognizer",
    "Doc",
    "EmailRecognizer",
    "Found",
    "IbanRecognizer",
    "IpRecognizer",
    "MacRecognizer",
    "NameAndPlaceRecognizer",
    "PhoneRecognizer",
    "Recognizer",
    "SpacyRecognizer",
    "SsnRecognizer",
    "UrlRecognizer",
    "load_spacy_model",
]
