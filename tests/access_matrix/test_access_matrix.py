"""The authorization matrix: every endpoint in the OpenAPI spec × every role × relation → expected outcome.

The table is matrix.csv next to this file. The test fails when the spec has an endpoint the table lacks (add a
row: a new endpoint must say who may call it), when the table has a row for an endpoint that no longer exists,
and when any real request, authenticated as that role with an all-scope API token, gets another outcome.
It runs on SQLite and on PostgreSQL connected as the application role, as production is: authorization is decided
in the application and the Cedar policies, and PostgreSQL's row-level security must never refuse what they allow
(its own refusals are tested in tests/access).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from matrix_world import (
    BODIES,
    CASE_IN_BODY,
    CUSTOMER_IN_BODY,
    NOT_APPLICABLE,
    PATH_VALUES,
    QUERIES,
    RELATIONS,
    ROLES,
    MatrixWorld,
    Row,
    Target,
    load_matrix,
    outcome_class,
    seed,
)

from app_role import app_role_database
from casevault.access.budgets import enable_read_budgets
from casevault.app import create_app
from casevault.config import ReadBudgetLimits, Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database

# Rows share one seeded world and some write to it: keep them in one worker, in file order.
pytestmark = pytest.mark.xdist_group("access-matrix")

ROWS = load_matrix()
_PARAM = re.compile(r"{([^}]+)}")
# The matrix checks authorization, not budgets: one agent reads dozens of customers here.
_UNLIMITED = ReadBudgetLimits(**dict.fromkeys(ReadBudgetLimits.model_fields, 100000))


@dataclass
class Harness:
    client: TestClient
    world: MatrixWorld
    spec: dict[str, object]


@pytest.fixture(scope="module", params=["sqlite", "postgresql-app-role"])
def harness(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """One app and one seeded world per database for the whole module (the rows only add fresh objects).

    On PostgreSQL the world is seeded as the owner and the app connects as the application role, as production
    does, so row-level security must agree with every row too.
    """
    directory = tmp_path_factory.mktemp("matrix")
    provider = LocalKeyFile.create(directory / "keys" / "master.key")
    settings = Settings(
        data_dir=directory,
        key_file=directory / "keys" / "master.key",
        cookie_secure=False,
        read_budgets={"agent": _UNLIMITED, "supervisor": _UNLIMITED},
        reveal_budget_per_hour=100_000,
    )
    if request.param == "sqlite":
        target = directory / "casevault.db"
        shutil.copyfile(sqlite_template, target)
        db = app_db = Database(f"sqlite:///{target}")
    else:
        url: str = request.getfixturevalue("pg_module_database")
        db, app_db = Database(url), app_role_database(url)
    try:
        app = create_app(settings, database=app_db, key_provider=provider)
        # create_app is expected to do this too; explicit here so the matrix never depends on the default limits.
        enable_read_budgets(app_db, settings)
        world = seed(db, Keyring(provider))
        with TestClient(app, raise_server_exceptions=False) as client:
            spec = client.get("/api/v1/openapi.json").json()
            yield Harness(client=client, world=world, spec=spec)
    finally:
        app_db.dispose()
        db.dispose()


def _relation_applies(method: str, path: str) -> bool:
    return "{number}" in path or "{reference}" in path or (method, path) in CASE_IN_BODY


def _spec_endpoints(spec: dict[str, object]) -> set[tuple[str, str]]:
    paths = spec["paths"]
    assert isinstance(paths, dict)
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_every_endpoint_in_the_spec_has_rows(harness: Harness) -> None:
    in_spec = _spec_endpoints(harness.spec)
    in_table = {row.endpoint for row in ROWS}
    missing = sorted(in_spec - in_table)
    assert not missing, f"add these endpoints to tests/access_matrix/matrix.csv: {missing}"
    stale = sorted(in_table - in_spec)
    assert not stale, f"matrix.csv has rows for endpoints that no longer exist: {stale}"


def test_rows_cover_every_relation_where_one_applies() -> None:
    seen: dict[tuple[str, str], list[str]] = {}
    for row in ROWS:
        seen.setdefault(row.endpoint, []).append(row.relation)
    for (method, path), relations in seen.items():
        wanted = sorted(RELATIONS) if _relation_applies(method, path) else [NOT_APPLICABLE]
        assert sorted(relations) == wanted, f"{method} {path}: relations {relations}, expected {wanted}"


def test_path_parameters_are_known(harness: Harness) -> None:
    names = {name for _method, path in _spec_endpoints(harness.spec) for name in _PARAM.findall(path)}
    assert names <= set(PATH_VALUES), f"add PATH_VALUES for {sorted(names - set(PATH_VALUES))}"


def _request(harness: Harness, row: Row, role: str) -> httpx.Response:
    world = harness.world
    caller = "agent" if role == "anonymous" else role
    case = customer = None
    if row.relation != NOT_APPLICABLE:
        # Requests that change the case get a fresh one, so the shared objects keep their state for other rows.
        case, customer = world.case_for_relation(caller, row.relation, fresh=row.method != "GET")
    elif row.endpoint in CUSTOMER_IN_BODY:
        # A customer of its own: filing a case for it makes it reachable, which must not leak into other rows.
        case, customer = world.case_for_relation("agent", "none", fresh=True)
    target = Target(role=caller, case=case, customer=customer)
    path = _PARAM.sub(lambda match: PATH_VALUES[match.group(1)](target), row.path)
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {world.tokens[role]}"}
    body = BODIES.get(row.endpoint)
    return harness.client.request(
        row.method,
        path,
        headers=headers,
        params=QUERIES.get(row.endpoint),
        json=body(target) if body is not None else None,
    )


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.method} {r.path} [{r.relation}]" for r in ROWS])
def test_matrix_row(harness: Harness, row: Row) -> None:
    wrong: list[str] = []
    for role in ROLES:
        expected = row.expected[role]
        if expected == NOT_APPLICABLE:
            continue
        response = _request(harness, row, role)
        got = outcome_class(response.status_code)
        if got != expected:
            wrong.append(f"{role}: expected {expected}, got {got} ({response.text[:120]})")
        if got in ("401", "403", "404"):
            # Refusals never tell the caller more than a code and a request id.
            error = response.json()["error"]
            assert set(error) <= {"code", "message", "request_id", "step_up"}, error
    assert not wrong, f"{row.method} {row.path} [{row.relation}]:\n" + "\n".join(wrong)
