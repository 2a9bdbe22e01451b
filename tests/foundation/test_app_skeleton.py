"""The app factory: health, OpenAPI, secure-by-default routes, refusal to start on bad keys or schema."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select

from casevault.access.actor import Actor
from casevault.app import StartupError, create_app
from casevault.audit import AuditCheckpoint
from casevault.audit.checkpoints import Ed25519Signer
from casevault.audit.verify import verify
from casevault.cases import api as cases_api
from casevault.cases.services import create_customer
from casevault.config import Settings
from casevault.crypto import KeyFileError, Keyring, LocalKeyFile
from casevault.db import Database
from casevault.db.migrate import SchemaOutOfDate


def test_health_and_openapi(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.headers["x-request-id"]) == 32
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "casevault"


def test_unknown_route_is_generic_404_with_request_id(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    body = response.json()["error"]
    assert body["code"] == "not_found"
    assert body["request_id"] == response.headers["x-request-id"]


def test_oversized_body_is_rejected(client: TestClient) -> None:
    response = client.post("/healthz", content=b"x" * 2_000_000, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_route_without_permission_stops_startup(
    settings: Settings, db: Database, key_provider: LocalKeyFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    rogue = APIRouter()

    @rogue.get("/rogue")
    def rogue_route() -> dict[str, str]:
        return {}

    monkeypatch.setattr(cases_api, "router", rogue)
    with pytest.raises(StartupError, match="/api/v1/rogue"):
        create_app(settings, database=db, key_provider=key_provider)


def test_world_readable_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    LocalKeyFile.create(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        LocalKeyFile(path)


def test_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        LocalKeyFile(tmp_path / "absent.key")


def test_unmigrated_database_is_refused(tmp_path: Path, key_provider: LocalKeyFile) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(SchemaOutOfDate, match="casevault init"):
        create_app(settings, key_provider=key_provider)


def test_a_key_that_did_not_seal_the_database_is_refused(
    settings: Settings, db: Database, key_provider: LocalKeyFile, tmp_path: Path
) -> None:
    # Every way of building the app refuses it (the CLI's `serve` turns this into a one-line error).
    with db.unit_of_work() as session:
        create_customer(
            session,
            keyring=Keyring(key_provider),
            name="Ana Lima",
            email="ana@example.br",
            country="BR",
            actor=Actor.system("test"),
        )
    other = LocalKeyFile.create(tmp_path / "other.key")
    with pytest.raises(StartupError, match="not the key this database was sealed with"):
        create_app(settings, database=db, key_provider=other)
    create_app(settings, database=db, key_provider=key_provider)


def test_app_signs_audit_checkpoints_as_the_chain_grows(
    make_client: Callable[..., TestClient], db: Database, key_provider: LocalKeyFile
) -> None:
    with make_client(audit_checkpoint_every=3) as client:
        for _ in range(7):
            # Each rejected token is an audited event, committed even though the request fails.
            response = client.get("/api/v1/cases", headers={"Authorization": "Bearer cvt_not-a-real-token"})
            assert response.status_code == 401
    with db.sessions() as session:
        checkpoints = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
        assert [c.seq for c in checkpoints] == [3, 6]
    report = verify(db.engine, keys=[Ed25519Signer.from_provider(key_provider).public_key])
    assert report.ok
    assert report.events_checked == 7
