"""Shared helpers of the console tests over the ASGI app: a seeded demo, signing in through the pages, API reads."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyotp
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from casevault.app import create_app
from casevault.cli import app as cli_app
from casevault.config import Settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/(CV-\d{4}-\d+)"')
BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Seeded:
    data_dir: Path
    password: str
    totp: dict[str, str]
    tokens: dict[str, str]


def seed_demo(data_dir: Path, *, cases: int = 30, customers: int = 8) -> Seeded:
    """`casevault demo --no-serve` into `data_dir`; the password, TOTP secrets and API tokens it printed."""
    result = CliRunner().invoke(
        cli_app,
        ["demo", "--data-dir", str(data_dir), "--no-serve", "--cases", str(cases), "--customers", str(customers)],
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"with password (\S+) ", result.output)
    assert password is not None
    return Seeded(
        data_dir=data_dir,
        password=password.group(1),
        totp=dict(re.findall(r"^\s+(\w+)\s+totp ([A-Z2-7]+)$", result.output, re.MULTILINE)),
        tokens=dict(re.findall(r"^\s+(\w+)\s+(cvt_\S+)$", result.output, re.MULTILINE)),
    )


@contextmanager
def console_client(seeded: Seeded) -> Iterator[TestClient]:
    """The demo's app over ASGI, as a browser at BASE_URL would reach it (no redirects followed)."""
    settings = Settings(data_dir=seeded.data_dir, demo=True, cookie_secure=False)
    with TestClient(create_app(settings), base_url=BASE_URL, follow_redirects=False) as client:
        yield client


def fresh(client: TestClient) -> TestClient:
    """A second browser on the same app (its own cookie jar)."""
    return TestClient(client.app, base_url=BASE_URL, follow_redirects=False)


def code_for(seeded: Seeded, username: str, *, step_ahead: int = 0) -> str:
    # Each TOTP step is accepted once per account; a later check in the same test uses the next step (±1 window).
    return pyotp.TOTP(seeded.totp[username]).at(time.time() + 30 * step_ahead)


def csrf(page_text: str) -> str:
    found = CSRF.findall(page_text)
    assert found, "the page has no form with a CSRF token"
    return found[-1]


def password_step(client: TestClient, username: str, password: str) -> str:
    """Submit the password form; returns where the console sends the browser next."""
    token = csrf(client.get("/sign-in").text)
    response = client.post("/sign-in", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def sign_in(client: TestClient, seeded: Seeded, username: str, *, step_ahead: int = 0) -> str:
    """Password, then the TOTP code; returns the page the console lands the person on."""
    assert password_step(client, username, seeded.password) == "/sign-in/code"
    token = csrf(client.get("/sign-in/code").text)
    code = code_for(seeded, username, step_ahead=step_ahead)
    response = client.post("/sign-in/code", data={"code": code, "csrf_token": token})
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def api(client: TestClient, seeded: Seeded, username: str, path: str) -> dict[str, object]:
    response = client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {seeded.tokens[username]}"})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def items(client: TestClient, seeded: Seeded, username: str, path: str) -> list[dict[str, object]]:
    found = api(client, seeded, username, path)["items"]
    assert isinstance(found, list)
    return found


def add_newcomer(data_dir: Path, password: str, *, username: str = "newbie") -> None:
    """An agent with a password and no second factor yet, through the CLI (for the first-sign-in enrolment)."""
    runner = CliRunner()
    created = runner.invoke(
        cli_app,
        [
            *["staff", "create", "--username", username, "--display-name", "New Starter"],
            *["--role", "agent", "--data-dir", str(data_dir)],
        ],
    )
    assert created.exit_code == 0, created.output
    set_password = runner.invoke(
        cli_app,
        ["staff", "set-password", "--username", username, "--password-stdin", "--data-dir", str(data_dir)],
        input=password + "\n",
    )
    assert set_password.exit_code == 0, set_password.output
