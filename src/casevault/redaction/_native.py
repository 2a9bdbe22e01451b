"""Which redaction modules run compiled (mypyc, ADR 0105), and the fall-back to their Python sources.

Importing this module decides, once per process; `casevault.redaction` imports it before anything it compiles.

`pip install -e .` builds the extensions next to the sources, and Python prefers an extension to a source
file. A source edited after the build would then be silently shadowed by stale compiled code, so the compiled
modules are used only while every source still has the hash `setup.py` recorded when it compiled them; otherwise,
or when CASEVAULT_REDACTION_PURE_PYTHON=1, all of them are imported from source (never a mix: compiled modules
call each other directly).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = ["COMPILED", "PURE_PYTHON_VARIABLE", "NativeStatus", "status"]

COMPILED = (
    "casevault.redaction.engine",
    "casevault.redaction.normalize",
    "casevault.redaction.operators",
    "casevault.redaction.recognizers.address",
    "casevault.redaction.recognizers.base",
    "casevault.redaction.recognizers.credential",
    "casevault.redaction.recognizers.email",
    "casevault.redaction.recognizers.financial",
    "casevault.redaction.recognizers.names",
    "casevault.redaction.recognizers.network",
    "casevault.redaction.recognizers.phone",
    "casevault.redaction.recognizers.tlds",
)
PURE_PYTHON_VARIABLE = "CASEVAULT_REDACTION_PURE_PYTHON"
_PACKAGE = Path(__file__).resolve().parent
_SOURCES_FILE = _PACKAGE / "native-sources.json"


@dataclass(frozen=True)
class NativeStatus:
    """`compiled`: the listed modules loaded from extensions; `reason`: why the sources run instead, if they do."""

    compiled: tuple[str, ...]
    reason: str | None


def _source_path(name: str) -> Path:
    return _PACKAGE.joinpath(*name.split(".")[2:]).with_suffix(".py")


def _extension_present(name: str) -> bool:
    directory = _source_path(name).parent
    stem = name.rsplit(".", 1)[-1]
    return any((directory / f"{stem}{suffix}").exists() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _why_not_compiled() -> str | None:
    if os.environ.get(PURE_PYTHON_VARIABLE) == "1":
        return f"{PURE_PYTHON_VARIABLE}=1"
    if not all(_extension_present(name) for name in COMPILED):
        return "not built (installed with CASEVAULT_BUILD_PURE_PYTHON=1, or no extensions for this Python)"
    try:
        recorded = json.loads(_SOURCES_FILE.read_text())
    except (OSError, ValueError):
        return "no record of the compiled sources"
    for name in COMPILED:
        if recorded.get(name) != hashlib.sha256(_source_path(name).read_bytes()).hexdigest():
            return f"stale: {name} changed since it was compiled (run `make install` to rebuild)"
    return None


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules' Python sources, ahead of the path finder that would pick the extensions."""

    def __init__(self, names: Sequence[str]) -> None:
        self._names = frozenset(names)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self._names:
            return None
        source = _source_path(fullname)
        loader = importlib.machinery.SourceFileLoader(fullname, str(source))
        return importlib.util.spec_from_file_location(fullname, source, loader=loader)


def _install() -> str | None:
    reason = _why_not_compiled()
    if reason is not None:
        sys.meta_path.insert(0, _SourceFinder(COMPILED))
    return reason


_REASON = _install()


def status() -> NativeStatus:
    """Which of the listed modules run compiled in this process (for benchmarks and `casevault redact`)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    compiled = []
    for name in COMPILED:
        module = sys.modules.get(name) or importlib.import_module(name)
        if str(getattr(module, "__file__", "")).endswith(suffixes):
            compiled.append(name)
    return NativeStatus(compiled=tuple(compiled), reason=_REASON)
