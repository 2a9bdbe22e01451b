"""Architecture rules a reviewer would otherwise have to remember: layering and the access-function funnel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "casevault"

# Lower number = lower layer. A module may import its own layer or below, never above.
LAYERS: dict[str, int] = {
    "db": 0,
    "errors": 0,
    "config": 0,
    "crypto": 1,
    "access": 1,
    "audit": 1,
    "redaction": 1,
    "exposure": 1,
    "detection": 2,
    "cases": 2,
    "identity": 2,
    "incident": 2,
    "outreach": 2,
    "demo": 3,
    "drills": 6,  # drills drive the whole app as an operator would, like the CLI
    "models": 3,
    "logging": 3,
    "api": 4,
    "web": 4,
    "app": 5,
    "cli": 6,
}
# Route modules must reach protected tables only through access functions and services.
PROTECTED_MODELS = {"Case", "Customer", "Contact", "Note", "Organization", "RedactionVault", "AuditEvent"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


# A slice's route and page modules belong to the web/api layer, whatever package they sit in.
EDGE_MODULES = {"api.py", "console.py"}


def _top(path: Path) -> str:
    if path.name in EDGE_MODULES:
        return "api"
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


def _imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_layers_point_one_way(path: Path) -> None:
    own = _top(path)
    if own not in LAYERS:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for module, _names in _imports(tree):
        if not module.startswith("casevault."):
            continue
        target = "api" if module.split(".")[-1] in {"api", "console"} else module.split(".")[1]
        if target in LAYERS:
            assert LAYERS[target] <= LAYERS[own], f"{own} (layer {LAYERS[own]}) imports upward from {module}"


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if p.name in {"api.py", "console.py"} or "web" in p.relative_to(SRC).parts],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_routes_do_not_query_protected_tables(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for module, names in _imports(tree):
        if module.endswith(".models"):
            leaked = PROTECTED_MODELS.intersection(names)
            assert not leaked, f"{path.name} imports protected models {sorted(leaked)}; use the access functions"
        if module == "sqlalchemy":
            assert "select" not in names, f"{path.name} builds queries; move them behind an access function"
