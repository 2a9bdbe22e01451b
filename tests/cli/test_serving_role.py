"""The role `serve` connects as on PostgreSQL: `init --serving-role` creates it; serve refuses one RLS skips."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from casevault.cli import app
from casevault.cli.server import StartupRefused, checked_app
from casevault.config import Settings

pytestmark = pytest.mark.postgres

runner = CliRunner()
ROLE = "casevault_test_cli"


def _init(data_dir: Path, url: str, *extra: str) -> str:
    result = runner.invoke(app, ["init", "--data-dir", str(data_dir), "--database-url", url, *extra])
    return " ".join(result.output.split()) + f" [exit {result.exit_code}]"


def test_init_creates_the_serving_role_and_serve_accepts_it_but_refuses_the_owner(
    tmp_path: Path, pg_database: str
) -> None:
    data_dir = tmp_path / "data"
    said = _init(data_dir, pg_database, "--serving-role", ROLE)
    assert "[exit 0]" in said
    serving_url = pg_database.replace("://postgres@", f"://{ROLE}@")
    assert f"CASEVAULT_DATABASE_URL={serving_url}" in said.replace(" ", "")  # rich may wrap the long line
    assert "(created)" in said or "(kept; existing role)" in said  # roles are cluster-wide: a re-run keeps it
    assert "(kept; existing role)" in _init(data_dir, pg_database, "--serving-role", ROLE)

    checked_app(Settings(data_dir=data_dir, database_url=serving_url)).state.runtime.db.dispose()
    with pytest.raises(StartupRefused, match="bypasses row-level security"):
        checked_app(Settings(data_dir=data_dir, database_url=pg_database))
    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir), "--database-url", pg_database])
    assert result.exit_code == 1
    assert "refusing to start" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("postgres", "bypasses row-level security"),  # an existing superuser is never made the serving role
        ("Bad-Name", "not a usable role name"),
        ("casevault_app", "not a usable role name"),  # the group itself cannot log in
    ],
)
def test_init_refuses_an_unsafe_serving_role(tmp_path: Path, pg_database: str, role: str, message: str) -> None:
    said = _init(tmp_path / "data", pg_database, "--serving-role", role)
    assert "[exit 1]" in said
    assert message in said
    assert "Traceback" not in said


def test_serving_role_needs_postgresql(tmp_path: Path) -> None:
    said = _init(tmp_path / "data", f"sqlite:///{tmp_path / 'cv.db'}", "--serving-role", ROLE)
    assert "[exit 1]" in said
    assert "needs PostgreSQL" in said
