"""Pins the public surface: an accidental export or removal shows up here first."""

from __future__ import annotations

import importlib

import pytest

import casevault

PACKAGES = [
    "casevault.access",
    "casevault.audit",
    "casevault.cases",
    "casevault.crypto",
    "casevault.db",
    "casevault.detection",
    "casevault.exposure",
    "casevault.identity",
    "casevault.incident",
    "casevault.redaction",
]


def test_top_level_exports_only_the_version() -> None:
    assert casevault.__all__ == ["__version__"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_export_exists(name: str) -> None:
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported, f"{name} declares no __all__"
    assert sorted(exported) == sorted(set(exported)), f"{name} exports a name twice"
    missing = [item for item in exported if not hasattr(package, item)]
    assert not missing, f"{name} exports names it does not define: {missing}"


def test_redaction_contract_from_design() -> None:
    """DESIGN.md's contract for other tools: these names are promised."""
    from casevault import redaction

    promised = {"Redactor", "Span", "RedactionResult", "Mask", "ReplaceWithType", "Tokenize", "RedactionFailed"}
    assert promised <= set(redaction.__all__)
    spans = redaction.Redactor().detect("write to jane.doe@example.com")
    assert [(s.start, s.end, s.entity_type) for s in spans] == [(9, 29, "EMAIL_ADDRESS")]


def test_scanner_contract_from_design() -> None:
    from casevault import exposure

    assert {"scan_paths", "probe", "self_check", "to_sarif", "watch", "Finding", "Severity"} <= set(exposure.__all__)
