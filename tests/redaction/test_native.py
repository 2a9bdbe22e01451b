"""The mypyc-compiled redaction modules (ADR 0105): used only when built from the current sources, never mixed
with Python ones, and finding exactly what the Python sources find.

The comparisons need a build (`make install`, i.e. `pip install -e .`); in a tree without one (a worktree run
with PYTHONPATH) they skip and say so, and the Python sources run.
"""

from __future__ import annotations

import ast
import importlib.machinery
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import casevault
from casevault.redaction import Redactor, _native

ROOT = Path(__file__).resolve().parents[2]
SOURCE_ROOT = Path(casevault.__file__).resolve().parents[1]  # the directory holding the package being tested
_STATUS = _native.status()
needs_build = pytest.mark.skipif(
    _STATUS.reason is not None, reason=f"compiled redaction modules not in use here: {_STATUS.reason}"
)

_DETECT = """
import json, sys
from casevault.redaction import Redactor, _native
status = _native.status()
texts = json.load(sys.stdin)
found = Redactor().detect_batch(texts)
spans = [[[s.start, s.end, s.entity_type, s.score, s.recognizer] for s in text_spans] for text_spans in found]
json.dump({"compiled": list(status.compiled), "reason": status.reason, "spans": spans}, sys.stdout)
"""


def _in_subprocess(texts: list[str], source_root: Path, **env: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", _DETECT],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(source_root), **env},
    )
    return dict(json.loads(completed.stdout))


def _texts(count: int) -> list[str]:
    """Support-ticket-like texts exercising every recognizer, obfuscations and non-ASCII offsets."""
    rng = random.Random(105)
    pieces = [
        "Hi team, my name is Jane Doe and I live in Springfield, IL.",
        "Dear Mr. Müller, thanks for calling from München.",
        "Reach me at jane.doe@example.com or jane [at] example [dot] com or XYZ @contoso com.",
        "j.smith＠example.org wrote: call +44 20 7946 0018 or (415) 555-0132 ext. 12, mobile 0612345678.",
        "Card 4111 1111 1111 1111, Amex 3782-822463-10005, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789.",
        "Server 192.168.10[.]12 and fe80::1%eth0, MAC 00:1A:2B:3C:4D:5E, see https://portal.example.net/x?id=3.",
        "password: S3cr3t!Pass and token ghp_abcdefghijklmnopqrstuvwxyz0123456789 in postgres://u:pw@db/x.",
        "Ship to 221B Baker Street, London NW1 6XJ, or 1600 Pennsylvania Ave NW, Washington, DC 20500.",
        "Order 123456789 shipped, version 10.0.19045, case CV-2026-000123, error 0x80070005, KB5034441.",
        "Regards,\nPieter van der Merwe (pieter@example.co.za)",
        "Spoke with Zoë Ångström in Genève about café orders 😀 – ‘quoted’ Łódź.",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq and 0x52908400098527886E0F7030069857D2E4169EE7",
        "Thanks,\tSam O'Neil – Zürich, Switzerland",
    ]
    texts = []
    for _ in range(count):
        chosen = rng.sample(pieces, rng.randint(1, 5))
        texts.append(rng.choice([" ", "\n", "  "]).join(chosen))
    return texts


def test_compiled_module_list_matches_setup_py() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    listed = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "COMPILED" for t in node.targets)
    )
    assert tuple(f"casevault.redaction.{name}" for name in listed) == _native.COMPILED


def test_modules_are_all_compiled_or_all_python() -> None:
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    from_extensions = {name for name in _native.COMPILED if str(sys.modules[name].__file__).endswith(suffixes)}
    if _STATUS.reason is None:
        assert from_extensions == set(_native.COMPILED)
        assert _STATUS.compiled == _native.COMPILED
    else:
        assert from_extensions == set()
        assert _STATUS.compiled == ()


@needs_build
def test_compiled_and_python_sources_find_identical_spans() -> None:
    texts = _texts(1500)
    compiled = [
        [[s.start, s.end, s.entity_type, s.score, s.recognizer] for s in found]
        for found in Redactor().detect_batch(texts)
    ]
    assert sum(map(len, compiled)) > 10_000
    python = _in_subprocess(texts, SOURCE_ROOT, **{_native.PURE_PYTHON_VARIABLE: "1"})
    assert python["compiled"] == []
    assert python["reason"] == f"{_native.PURE_PYTHON_VARIABLE}=1"
    assert python["spans"] == compiled


@needs_build
def test_an_edited_source_makes_every_module_fall_back_to_python(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(SOURCE_ROOT / "casevault", copy / "casevault", ignore=shutil.ignore_patterns("__pycache__"))
    for runtime in SOURCE_ROOT.glob("casevault_redaction__mypyc*"):
        shutil.copy2(runtime, copy / runtime.name)
    names = copy / "casevault" / "redaction" / "recognizers" / "names.py"
    names.write_text(names.read_text() + "\n# edited after the build\n")

    result = _in_subprocess(["Dear Mr. John Smith"], copy)

    assert result["compiled"] == []
    assert str(result["reason"]).startswith("stale: casevault.redaction.recognizers.names changed")
    assert result["spans"] == [[[9, 19, "PERSON", 0.9, "lexicon_person"]]]  # "John Smith", found all the same
