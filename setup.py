"""Build hook: compiles the redaction engine's hot modules with mypyc (ADR 0105); the rest is in pyproject.toml.

`pip install -e .` (what `make install` runs) builds the extensions next to their sources. At import,
`casevault.redaction._native` uses them only while every source still has the hash recorded here; otherwise
(a source edited since the build) or with CASEVAULT_REDACTION_PURE_PYTHON=1 it imports the Python sources.
CASEVAULT_BUILD_PURE_PYTHON=1 installs without compiling anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "src" / "casevault" / "redaction"
# The same list as casevault.redaction._native.COMPILED (tests/redaction/test_native.py checks they agree).
COMPILED = (
    "engine",
    "normalize",
    "operators",
    "recognizers.address",
    "recognizers.base",
    "recognizers.credential",
    "recognizers.email",
    "recognizers.financial",
    "recognizers.names",
    "recognizers.network",
    "recognizers.phone",
    "recognizers.tlds",
)
SOURCES_FILE = PACKAGE / "native-sources.json"
# mypyc type-checks what it compiles. The project's [tool.mypy] section loads the pydantic plugin, which the
# isolated build environment does not have; the code is checked strictly by `make lint`, so here only what
# compiling needs: missing third-party stubs are Any (re2 and phonenumbers have none anyway).
MYPYC_CONFIG = "[mypy]\nignore_missing_imports = True\nfollow_imports = silent\n"
# setuptools runs this file for metadata too (egg_info, dist_info): compile only for commands that build.
BUILDING = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def _ext_modules() -> list[object]:
    if os.environ.get("CASEVAULT_BUILD_PURE_PYTHON") == "1" or not BUILDING.intersection(sys.argv[1:]):
        return []
    SOURCES_FILE.unlink(missing_ok=True)
    from mypyc.build import mypycify

    paths = {f"casevault.redaction.{module}": PACKAGE / f"{module.replace('.', '/')}.py" for module in COMPILED}
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "mypyc.ini"
        config.write_text(MYPYC_CONFIG)
        extensions = mypycify(
            ["--config-file", str(config), *(str(path.relative_to(ROOT)) for path in paths.values())],
            opt_level="3",
            group_name="casevault_redaction",
        )
    # Written only once compiling succeeded: what the extensions were built from, checked at import.
    digests = {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in paths.items()}
    SOURCES_FILE.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    return list(extensions)


setup(ext_modules=_ext_modules())
