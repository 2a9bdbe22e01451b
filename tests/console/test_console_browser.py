"""The console in headless Chromium against a real `casevault serve` on seeded demo data.

An agent signs in with password and TOTP, works a case (adds an internal note) and is refused another queue's
case by URL; every page carries the strict CSP and the browser logs no errors. Screenshots go to
test-artifacts/console/.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import ConsoleMessage, Page, Response, expect, sync_playwright
from typer.testing import CliRunner

from casevault.cli import app as cli_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@dataclass(frozen=True)
class Demo:
    base_url: str
    password: str
    totp_secrets: dict[str, str]
    api_tokens: dict[str, str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_healthy(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"casevault serve exited early with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 (loopback only)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail("casevault serve did not become healthy within 30 s")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Seed a small demo data dir, then run the real server on a free loopback port."""
    data_dir = tmp_path_factory.mktemp("console") / "demo"
    seeded = CliRunner().invoke(
        cli_app, ["demo", "--data-dir", str(data_dir), "--no-serve", "--cases", "30", "--customers", "10"]
    )
    assert seeded.exit_code == 0, seeded.output
    password = re.search(r"with password (\S+) ", seeded.output)
    assert password is not None, seeded.output
    secrets = dict(re.findall(r"^\s+(\w+)\s+totp ([A-Z2-7]+)$", seeded.output, re.MULTILINE))
    tokens = dict(re.findall(r"^\s+(\w+)\s+(cvt_\S+)$", seeded.output, re.MULTILINE))
    port = _free_port()
    # The server must use the demo's own SQLite file, whatever the caller's environment says.
    env = {name: value for name, value in os.environ.items() if not name.startswith("CASEVAULT_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "casevault", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, server)
        yield Demo(base_url=base_url, password=password.group(1), totp_secrets=secrets, api_tokens=tokens)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _api_case_numbers(demo: Demo, username: str) -> set[str]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{demo.base_url}/api/v1/cases?limit=100", headers={"Authorization": f"Bearer {demo.api_tokens[username]}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return {item["number"] for item in json.load(response)["items"]}


def _out_of_scope_case(demo: Demo, username: str) -> str:
    """A case some other agent can read and `username` cannot (found over the API with their tokens)."""
    mine = _api_case_numbers(demo, username)
    for other in sorted(demo.api_tokens):
        if other in (username, "admin", "sofia", "maria", "nils"):
            continue
        theirs = _api_case_numbers(demo, other) - mine
        if theirs:
            return sorted(theirs)[0]
    pytest.fail("the demo data has no case outside the agent's scope")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_agent_signs_in_works_a_case_and_is_refused_another_queue(demo: Demo) -> None:
    agent = "alice"
    foreign_case = _out_of_scope_case(demo, agent)
    problems: list[str] = []
    csp_headers: dict[str, str | None] = {}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 860})
            page.set_default_timeout(10_000)

            def on_console(message: ConsoleMessage) -> None:
                # The 404 page's own status is logged by Chromium as a failed resource; anything else is a fault.
                expected_404 = "status of 404" in message.text and foreign_case in message.location.get("url", "")
                if message.type == "error" and not expected_404:
                    problems.append(f"{message.text} @ {page.url}")

            def on_response(response: Response) -> None:
                if response.request.resource_type == "document" or response.request.is_navigation_request():
                    csp_headers[response.url] = response.headers.get("content-security-policy")

            page.on("console", on_console)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("response", on_response)

            # An unsigned visitor lands on the sign-in form.
            page.goto(demo.base_url + "/queue")
            expect(page).to_have_url(re.compile(r"/sign-in$"))
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            _shot(page, "01-sign-in")

            page.get_by_label("Username").fill(agent)
            page.get_by_label("Password").fill(demo.password)
            page.get_by_role("button", name="Continue").click()
            expect(page).to_have_url(re.compile(r"/sign-in/code$"))
            _shot(page, "02-sign-in-code")

            # Password alone reaches nothing else: the queue sends the browser back to the code page.
            page.goto(demo.base_url + "/queue")
            expect(page).to_have_url(re.compile(r"/sign-in/code$"))

            page.get_by_label("Code", exact=True).fill(pyotp.TOTP(demo.totp_secrets[agent]).now())
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(re.compile(r"/queue$"))
            expect(page.get_by_role("heading", name="My queue")).to_be_visible()
            rows = page.locator("table.cases tbody tr")
            expect(rows.first).to_be_visible()
            in_queue = set(page.locator("a.case-link").all_inner_texts())
            assert in_queue <= _api_case_numbers(demo, agent)
            assert foreign_case not in in_queue
            _shot(page, "03-queue")

            # The status filter narrows the list (htmx-boosted GET form; the URL keeps the filter).
            page.get_by_label("Status").select_option("closed")
            page.get_by_role("button", name="Apply").click()
            expect(page).to_have_url(re.compile(r"/queue\?status=closed$"))
            expect(page.locator("table.cases tbody .badge").first).to_have_text("closed")
            page.get_by_role("link", name="My queue").click()
            expect(page).to_have_url(re.compile(r"/queue$"))

            # Open a case that still takes notes: redacted text with chips, the masked customer, the notes.
            workable = rows.filter(has_not=page.locator(".badge-closed")).first.locator("a.case-link")
            number = workable.inner_text()
            workable.click()
            expect(page).to_have_url(re.compile(rf"/cases/{number}$"))
            expect(page.get_by_role("heading", name="Customer")).to_be_visible()
            expect(page.locator(".fields dd.masked").first).to_contain_text("***")
            _shot(page, "04-case")

            note = "Called the customer back on +44 20 7946 0958 and confirmed the reset was not theirs."
            page.get_by_label("Add an internal note or a reply").fill(note)
            page.get_by_role("button", name="Add note").click()
            latest = page.locator("ol.timeline li.note-internal").last
            expect(latest).to_contain_text("Called the customer back")
            # The phone number was redacted on save: the page shows a chip, never the number.
            expect(latest.locator(".chip-phone-number")).to_be_visible()
            assert "7946 0958" not in page.content()
            _shot(page, "05-case-note-added")

            # Another queue's case by URL: the same friendly 404 as a missing one, with a request id.
            response = page.goto(f"{demo.base_url}/cases/{foreign_case}")
            assert response is not None
            assert response.status == 404
            expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()
            expect(page.locator("main .request-id")).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
            _shot(page, "06-not-found")

            # My sessions: this browser's session is listed and marked.
            page.get_by_role("link", name="My sessions").click()
            expect(page.get_by_role("heading", name="My sessions")).to_be_visible()
            expect(page.locator("table.sessions tbody tr.current")).to_have_count(1)
            _shot(page, "07-sessions")

            page.goto(demo.base_url + "/queue")
            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(re.compile(r"/sign-in"))
            page.goto(demo.base_url + "/queue")
            expect(page).to_have_url(re.compile(r"/sign-in$"))
        finally:
            browser.close()

    assert csp_headers, "no document responses were seen"
    assert {url: value for url, value in csp_headers.items() if value != CSP} == {}
    assert problems == []
