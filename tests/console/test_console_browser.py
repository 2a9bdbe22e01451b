"""The console in headless Chromium against a real `casevault serve` on seeded demo data.

One browser per module, a context per person. A day's work: an agent signs in with password and TOTP, works a
case (note, reply, resolve), reveals a value after a step-up, and is refused another queue's case by URL; a second
agent asks for just-in-time access that a supervisor approves in another browser; a third breaks the glass; the
security officer finds the reveal in the audit trail, the break-glass alert and the charts. Then a passkey sign-in
through Chromium's virtual authenticator and a reveal stepped up with the same passkey, and a first sign-in that
enrols TOTP from a QR code. Last, a supervisor takes a case and meets the (lowered) soft read limit, a second is
contained, and the security officer handles the alert and records an incident with its notification export.
Every page carries the strict CSP and the browser logs no errors. Screenshots go to test-artifacts/console/.
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
from console_world import add_newcomer, seed_demo
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    expect,
    sync_playwright,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


NEWBIE_PASSWORD = "plum-orbit-canal-42"
SUPERVISOR_BUDGET = {"opened_soft_hour": 1, "soft_refusals_to_contain": 2}


@dataclass(frozen=True)
class Demo:
    base_url: str
    password: str
    totp_secrets: dict[str, str]
    api_tokens: dict[str, str]
    port: int


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
    seeded = seed_demo(data_dir, cases=30, customers=10)
    # A person with no second factor yet, for the first-sign-in enrolment.
    add_newcomer(data_dir, NEWBIE_PASSWORD)
    port = _free_port()
    # The server must use the demo's own SQLite file, whatever the caller's environment says.
    env = {name: value for name, value in os.environ.items() if not name.startswith("CASEVAULT_")}
    # Supervisors get a tiny soft read limit here, so the budget pages can be shown: a step-up after one new
    # customer, containment at the second unanswered request. Agents keep the default limits.
    env["CASEVAULT_READ_BUDGETS"] = json.dumps({"agent": {}, "supervisor": SUPERVISOR_BUDGET})
    server = subprocess.Popen(
        [sys.executable, "-m", "casevault", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, server)
        yield Demo(
            base_url=base_url,
            password=seeded.password,
            totp_secrets=seeded.totp,
            api_tokens=seeded.tokens,
            port=port,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def _api_case_numbers(demo: Demo, username: str) -> set[str]:
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{demo.base_url}/api/v1/cases?limit=100", headers={"Authorization": f"Bearer {demo.api_tokens[username]}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        return {item["number"] for item in json.load(response)["items"]}


def _search_word(demo: Demo, username: str) -> tuple[str, str]:
    """A case of `username` and the longest plain word of its redacted subject (tokens removed)."""
    request = urllib.request.Request(  # noqa: S310 (loopback only)
        f"{demo.base_url}/api/v1/cases?limit=1", headers={"Authorization": f"Bearer {demo.api_tokens[username]}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
        case = json.load(response)["items"][0]
    plain = re.sub(r"\[[A-Z_]+:[0-9a-f]+\]", " ", case["subject"])
    return case["number"], max(re.findall(r"[A-Za-z]{4,}", plain), key=len)


def _out_of_scope_case(demo: Demo, username: str, *, owner: str | None = None) -> str:
    """A case some other agent (or `owner`) can read and `username` cannot (found over the API with their tokens)."""
    mine = _api_case_numbers(demo, username)
    for other in [owner] if owner else sorted(demo.api_tokens):
        if other in (username, "admin", "sofia") or (owner is None and other in ("maria", "nils")):
            continue
        theirs = _api_case_numbers(demo, other) - mine
        if theirs:
            return sorted(theirs)[0]
    pytest.fail("the demo data has no case outside the agent's scope")


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def _go(page: Page, name: str) -> None:
    """Follow a main-menu link and wait until the browser is on that page.

    Filling a form straight after `click()` races the navigation when the link leads to the page already
    shown (Team queue from a filtered Team queue): the fill lands in the old document and is lost.
    """
    link = _nav(page, name)
    href = link.get_attribute("href")
    assert href is not None
    link.click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    page.wait_for_load_state("load")


_LAST_STEP: dict[str, int] = {}


def _code(demo: Demo, username: str, *, step_ahead: int = 0) -> str:
    # A TOTP step is accepted once per account: a later check uses a later step (the server accepts ±1), and when
    # the tests have already used the last one in the window for this person, wait for the clock to catch up.
    wanted = int(time.time() // 30) + step_ahead
    last = _LAST_STEP.get(username)
    if last is not None and wanted <= last:
        wanted = last + 1
    while wanted > int(time.time() // 30) + 1:
        time.sleep(1)
    _LAST_STEP[username] = wanted
    return pyotp.TOTP(demo.totp_secrets[username]).at(wanted * 30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield launched
        finally:
            launched.close()


class Watch:
    """Console errors, page errors and the CSP of every document, across every page of a test."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.csp: dict[str, str | None] = {}
        self.expected_404: set[str] = set()

    def attach(self, context: BrowserContext) -> Page:
        page = context.new_page()
        page.set_default_timeout(10_000)

        def on_console(message: ConsoleMessage) -> None:
            # A 404 page's own status (or a 401/429 budget page's) is logged by Chromium as a failed resource;
            # only the expected ones pass.
            url = message.location.get("url", "")
            failed = any(f"status of {code}" in message.text for code in ("404", "401", "429"))
            expected = failed and any(number in url for number in self.expected_404)
            if message.type == "error" and not expected:
                self.problems.append(f"{message.text} @ {url}")

        def on_response(response: Response) -> None:
            if response.request.resource_type == "document" or response.request.is_navigation_request():
                self.csp[response.url] = response.headers.get("content-security-policy")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on("response", on_response)
        return page

    def check(self) -> None:
        assert self.csp, "no document responses were seen"
        assert {url: value for url, value in self.csp.items() if value != CSP} == {}
        assert self.problems == []


def _person(browser: Browser, watch: Watch) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    return context, watch.attach(context)


def _sign_in(page: Page, demo: Demo, username: str, *, base_url: str | None = None) -> None:
    page.goto((base_url or demo.base_url) + "/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/sign-in/code$"))
    page.get_by_label("Code", exact=True).fill(_code(demo, username))
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/sign-in"))


def test_a_day_of_agent_supervisor_and_security_officer_work(demo: Demo, browser: Browser) -> None:
    agent = "alice"
    foreign_case = _out_of_scope_case(demo, agent)
    watch = Watch()
    watch.expected_404.add(foreign_case)
    context, page = _person(browser, watch)
    try:
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

        page.get_by_label("Code", exact=True).fill(_code(demo, agent))
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/queue$"))
        expect(page.get_by_role("heading", name="My queue")).to_be_visible()
        _shot(page, "03-queue")

        # The team queue: every case of my queues, filtered and searched (redacted text only).
        _go(page, "Team queue")
        expect(page.get_by_role("heading", name="Team queue")).to_be_visible()
        rows = page.locator("table.cases tbody tr")
        expect(rows.first).to_be_visible()
        in_queue = set(page.locator("a.case-link").all_inner_texts())
        assert in_queue <= _api_case_numbers(demo, agent)
        assert foreign_case not in in_queue
        page.get_by_label("Status").select_option("closed")
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(re.compile(r"/team\?.*status=closed"))
        expect(page.locator("table.cases tbody .badge").first).to_have_text("closed")
        _go(page, "Team queue")
        number_searched, word = _search_word(demo, agent)
        page.get_by_label("Search", exact=True).fill(word)
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("p.muted", has_text="matching your search")).to_be_visible()
        expect(page.locator("a.case-link", has_text=number_searched)).to_be_visible()
        _shot(page, "08-team-queue-search")

        # Open a case that still takes notes: redacted text with chips, the masked customer, the notes.
        page.goto(demo.base_url + "/team")
        resolvable = rows.filter(has_not=page.locator(".badge-closed, .badge-resolved"))
        workable = resolvable.first.locator("a.case-link")
        number = workable.inner_text()
        workable.click()
        expect(page).to_have_url(re.compile(rf"/cases/{number}$"))
        expect(page.get_by_role("heading", name="Customer")).to_be_visible()
        expect(page.locator(".fields a.masked").first).to_contain_text("***")
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

        # A public reply looks different from an internal note; then resolve with a resolution text.
        public_replies = page.locator("ol.timeline li.note-public")
        replies_before = public_replies.count()
        page.get_by_label("Add an internal note or a reply").fill("We have reset the password and locked the old one.")
        page.get_by_label("Public reply").check()
        page.get_by_role("button", name="Add note").click()
        # Wait for the new page (one more reply) before touching its form: older replies carry the same label.
        expect(public_replies).to_have_count(replies_before + 1)
        expect(public_replies.last).to_contain_text("the customer sees this")
        page.get_by_label("Resolution").fill("Password reset confirmed with the customer by phone.")
        page.get_by_role("button", name="Resolve case").click()
        expect(page.locator(".facts .badge")).to_have_text("resolved")
        expect(page.locator("p.resolution")).to_contain_text("Password reset confirmed")
        _shot(page, "09-case-resolved")

        # Reveal: the chip opens the dialog, which asks for a reason and (sign-in is no step-up) a code.
        chip = page.locator(".prose a.chip-link").first
        expect(chip).to_be_visible()
        chip.click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("reveals left this hour")
        dialog.get_by_label("Reason").fill("Customer asked us to confirm the contact on file")
        code_field = dialog.get_by_label("Code from your authenticator app")
        expect(code_field).to_be_visible()
        code_field.fill(_code(demo, agent, step_ahead=1))
        _shot(page, "10-reveal-dialog")
        dialog.get_by_role("button", name="Reveal").click()
        value = page.locator("#revealed-value")
        expect(value).to_be_visible()
        revealed_text = value.inner_text()
        assert revealed_text
        assert "[" not in revealed_text
        assert "***" not in revealed_text
        _shot(page, "11-revealed")
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("dialog")).to_have_count(0)

        # Another queue's case by URL: the same friendly 404 as a missing one, with a request id.
        response = page.goto(f"{demo.base_url}/cases/{foreign_case}")
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="Nothing here")).to_be_visible()
        expect(page.locator("main .request-id")).to_have_text(re.compile(r"^[0-9a-f]{32}$"))
        _shot(page, "06-not-found")

        # My sessions: this browser's session is listed and marked.
        _go(page, "My sessions")
        expect(page.get_by_role("heading", name="My sessions")).to_be_visible()
        expect(page.locator("table.sessions tbody tr.current")).to_have_count(1)
        _shot(page, "07-sessions")

        page.goto(demo.base_url + "/queue")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/sign-in"))
        page.goto(demo.base_url + "/queue")
        expect(page).to_have_url(re.compile(r"/sign-in$"))

        # Just-in-time access: ivan asks for a shipping case, nils (its queue's supervisor) approves elsewhere.
        wanted = _out_of_scope_case(demo, "ivan", owner="nils")
        watch.expected_404.add(wanted)
        ivan_context, ivan = _person(browser, watch)
        nils_context, nils = _person(browser, watch)
        _sign_in(ivan, demo, "ivan")
        ivan.goto(f"{demo.base_url}/cases/{wanted}")
        ivan.get_by_role("link", name=f"Request access to {wanted}").click()
        expect(ivan.get_by_label("Case number").first).to_have_value(wanted)
        ivan.locator("#request-reason").fill("Customer escalated by phone; the shipping queue is unstaffed tonight")
        ivan.get_by_role("button", name="Send request").click()
        expect(ivan.get_by_role("status")).to_contain_text("Request sent")
        expect(ivan.locator(".badge-grant-pending")).to_be_visible()
        _shot(ivan, "12-access-request")

        _sign_in(nils, demo, "nils")
        _go(nils, "Approvals")
        item = nils.locator("li.inbox-item", has_text=wanted)
        expect(item).to_contain_text("ivan")
        item.get_by_label("Code").fill(_code(demo, "nils", step_ahead=1))
        _shot(nils, "13-approvals-inbox")
        item.get_by_role("button", name=f"Approve {wanted}").click()
        expect(nils.get_by_role("status")).to_contain_text("Approved")

        ivan.goto(f"{demo.base_url}/cases/{wanted}")
        expect(ivan.locator("h1 .case-number")).to_have_text(wanted)
        _shot(ivan, "14-jit-case-open")
        nils_context.close()
        ivan_context.close()

        # Break-glass: lena opens a billing case in an emergency; a banner follows her on every page.
        emergency = _out_of_scope_case(demo, "lena", owner="maria")
        lena_context, lena = _person(browser, watch)
        _sign_in(lena, demo, "lena")
        _go(lena, "Access")
        lena.locator("#glass-case").fill(emergency)
        lena.locator("#glass-reason").fill("Customer reports fraud in progress, supervisor unreachable")
        lena.locator("#glass-code").fill(_code(demo, "lena", step_ahead=1))
        lena.get_by_role("button", name="Break glass").click()
        expect(lena).to_have_url(re.compile(rf"/cases/{emergency}$"))
        banner = lena.locator(".break-glass-banner")
        expect(banner).to_contain_text("Break-glass is active")
        expect(banner).to_contain_text(emergency)
        _shot(lena, "15-break-glass-banner")
        _go(lena, "My sessions")
        expect(lena.locator(".break-glass-banner")).to_be_visible()
        lena_context.close()

        # The security officer finds alice's reveal in the audit trail, the break-glass alert, and the charts.
        sofia_context, sofia = _person(browser, watch)
        _sign_in(sofia, demo, "sofia")
        expect(sofia).to_have_url(re.compile(r"/security/audit$"))
        expect(sofia.get_by_role("status")).to_contain_text("Chain verified")
        sofia.get_by_label("Actor").fill(agent)
        sofia.get_by_label("Action").select_option("pii.revealed")
        sofia.get_by_role("button", name="Apply").click()
        entry = sofia.locator("table.audit tbody tr", has_text=number)
        expect(entry.first).to_contain_text("pii.revealed")
        expect(entry.first).to_contain_text("allowed")
        assert revealed_text not in sofia.content()
        _shot(sofia, "16-audit-trail")
        _go(sofia, "Alerts")
        expect(sofia.locator("li.inbox-item", has_text=emergency)).to_contain_text("lena")
        expect(sofia.locator("table.alerts")).to_contain_text("break_glass.started")
        _shot(sofia, "17-alerts")
        _go(sofia, "Charts")
        sofia.get_by_label("Staff member", exact=True).fill(agent)
        sofia.get_by_role("button", name="Show").click()
        expect(sofia.locator("svg.chart-line polyline").first).to_be_attached()
        expect(sofia.get_by_role("heading", name=f"Customers exposed by {agent}, last 24h")).to_be_visible()
        expect(sofia.locator("svg.chart-bar rect.bar").first).to_be_attached()
        _shot(sofia, "18-charts")
        sofia_context.close()
    finally:
        context.close()
    watch.check()


def test_passkey_sign_in_through_the_virtual_authenticator(demo: Demo, browser: Browser) -> None:
    # WebAuthn needs a domain, never an IP: this person works on http://localhost (the relying party id).
    base_url = f"http://localhost:{demo.port}"
    watch = Watch()
    context, page = _person(browser, watch)
    try:
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                }
            },
        )
        _sign_in(page, demo, "kofi", base_url=base_url)
        page.goto(base_url + "/account/security")
        expect(page.locator("#passkey-count")).to_have_text("0")
        _shot(page, "19-sign-in-methods")
        # Adding a factor needs a fresh step-up of an existing one (the sign-in's own code does not count).
        page.goto(base_url + "/step-up?next=/account/security")
        _shot(page, "20-step-up")
        page.get_by_label("Code").fill(_code(demo, "kofi", step_ahead=1))
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(re.compile(r"/account/security$"))
        expect(page.get_by_role("heading", name="Sign-in methods")).to_be_visible()
        page.get_by_label("Name for a new passkey").fill("test laptop")
        page.get_by_role("button", name="Add a passkey").click()
        expect(page.get_by_role("status")).to_contain_text("Passkey added")
        expect(page.locator("#passkey-count")).to_have_text("1")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/sign-in"))

        page.get_by_label("Username").fill("kofi")
        page.get_by_label("Password").fill(demo.password)
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
        _shot(page, "21-passkey-sign-in")
        page.get_by_role("button", name="Use a passkey").click()
        expect(page).to_have_url(re.compile(r"/queue$"))
        _go(page, "My sessions")
        expect(page.locator("table.sessions tbody tr.current")).to_contain_text("webauthn")

        # Step-up with the passkey inside the reveal dialog (a passkey sign-in is no step-up either, ADR 0509).
        page.goto(base_url + "/queue")
        page.locator("a.case-link").first.click()
        page.locator(".fields a.masked").first.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Reason").fill("Customer asked us to confirm the address on file")
        expect(dialog.get_by_label("Code from your authenticator app")).to_be_visible()
        _shot(page, "25-reveal-passkey-choice")
        dialog.get_by_role("button", name="Confirm with a passkey").click()
        value = page.locator("#revealed-value")
        expect(value).to_be_visible()
        assert "*" not in value.inner_text()
        _shot(page, "26-revealed-with-passkey")
    finally:
        context.close()
    watch.check()


def test_first_sign_in_enrols_an_authenticator_from_a_qr_code(demo: Demo, browser: Browser) -> None:
    watch = Watch()
    context, page = _person(browser, watch)
    try:
        page.goto(demo.base_url + "/sign-in")
        page.get_by_label("Username").fill("newbie")
        page.get_by_label("Password").fill(NEWBIE_PASSWORD)
        page.get_by_role("button", name="Continue").click()
        expect(page).to_have_url(re.compile(r"/sign-in/enrol$"))
        expect(page.get_by_role("heading", name="Set up a second factor")).to_be_visible()
        _shot(page, "22-enrol")
        page.get_by_role("button", name="Set up an authenticator app").click()
        qr = page.get_by_role("img", name=re.compile("QR code"))
        expect(qr).to_be_visible()
        assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
        secret = page.locator("code.totp-secret").inner_text()
        _shot(page, "23-enrol-qr")
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Confirm and sign in").click()
        expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
        assert page.locator("ul.recovery-codes li").count() >= 8
        _shot(page, "24-recovery-codes")
        page.get_by_role("link", name=re.compile("continue")).click()
        expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    finally:
        context.close()
    watch.check()


def test_take_work_read_budget_alerts_and_incidents(demo: Demo, browser: Browser) -> None:
    watch = Watch()
    try:
        # A supervisor takes an unassigned case from the team queue, filtered to one of her queues.
        maria_context, maria = _person(browser, watch)
        _sign_in(maria, demo, "maria")
        _go(maria, "Team queue")
        queue_name = maria.get_by_label("Queue").locator("option").nth(1).get_attribute("value") or ""
        maria.get_by_label("Queue").select_option(queue_name)
        maria.get_by_role("button", name="Apply").click()
        expect(maria).to_have_url(re.compile(rf"/team\?.*queue={queue_name}"))
        take = maria.locator("td.work button", has_text="Take").first
        expect(take).to_be_visible()
        number = (take.get_attribute("aria-label") or "").removeprefix("Take ")
        _shot(maria, "27-team-queue-take")
        take.click()
        expect(maria.locator(f'button[aria-label="Release {number}"]')).to_be_visible()
        maria.locator("a.case-link", has_text=number).click()
        expect(maria.locator("#assignee")).to_contain_text("maria")
        expect(maria.get_by_role("button", name="Release to the queue")).to_be_visible()
        _shot(maria, "28-case-taken")

        # Past her (tiny) soft read limit the next new customer asks for a code in place, then opens.
        _go(maria, "Team queue")
        expect(maria.get_by_role("heading", name="Team queue")).to_be_visible()
        expect(maria.locator("a.case-link").first).to_be_visible()
        others = [link for link in maria.locator("a.case-link").all_inner_texts() if link != number]
        watch.expected_404.update(others)
        for other in others:
            maria.goto(f"{demo.base_url}/cases/{other}")
            if maria.locator("#open-step-up").count():
                break
        dialog = maria.get_by_role("dialog")
        expect(dialog).to_contain_text("Confirm it is you to open")
        _shot(maria, "29-case-step-up")
        dialog.get_by_label("Code from your authenticator app").fill(_code(demo, "maria", step_ahead=1))
        dialog.get_by_role("button", name="Open the case").click()
        expect(maria.locator("h1 .case-number")).to_be_visible()
        maria_context.close()

        # Someone who never answers is contained at the second unanswered request, and told so.
        nils_context, nils = _person(browser, watch)
        _sign_in(nils, demo, "nils")
        shown: list[int] = []
        watch.expected_404.update(_api_case_numbers(demo, "nils"))
        for other in sorted(_api_case_numbers(demo, "nils")):
            response = nils.goto(f"{demo.base_url}/cases/{other}")
            assert response is not None
            shown.append(response.status)
            if response.status == 429:
                break
        assert shown[-1] == 429, shown
        expect(nils.get_by_role("heading", name="Your sessions were ended")).to_be_visible()
        _shot(nils, "30-contained")
        nils_context.close()

        # The security officer acknowledges the alert, runs the blast radius and exports the notifications.
        sofia_context, sofia = _person(browser, watch)
        _sign_in(sofia, demo, "sofia")
        _go(sofia, "Alerts")
        row = sofia.locator("table.alerts tbody tr", has_text="budget.exceeded").first
        row.get_by_role("textbox").fill("Called nils: he was testing the new limits")
        _shot(sofia, "31-alerts-handling")
        row.get_by_role("button", name="Acknowledge").click()
        expect(sofia.get_by_role("status").filter(has_text="Alert acknowledged")).to_be_visible()
        _go(sofia, "Incidents")
        sofia.get_by_label("Account", exact=True).fill("nils")
        sofia.get_by_role("button", name="Run blast radius").click()
        expect(sofia.get_by_role("heading", name="Blast radius of nils")).to_be_visible()
        expect(sofia.locator("svg.chart-bar rect.bar").first).to_be_attached()
        _shot(sofia, "32-incident-blast-radius")
        record = sofia.get_by_role("region", name="Record as an incident")
        record.get_by_label("Reason").fill("Account contained by the read budget, checking exposure")
        sofia.get_by_role("button", name="Record incident").click()
        expect(sofia.get_by_role("heading", name="Incident: nils")).to_be_visible()
        sofia.get_by_label("Code from your authenticator app").fill(_code(demo, "sofia", step_ahead=1))
        _shot(sofia, "33-incident-export")
        with sofia.expect_download() as downloaded:
            sofia.get_by_role("button", name="Download notifications (CSV)").click()
        assert downloaded.value.suggested_filename.endswith("-notifications.csv")
        # The page stays usable after the download: it is refreshed in place for the stepped-up session (no code
        # field any more, the rotated form token everywhere), so checking the incident again is accepted.
        expect(sofia.get_by_label("Code from your authenticator app")).to_have_count(0)
        sofia.get_by_role("button", name="Check it again").click()
        expect(sofia.locator("#verification")).to_contain_text("Still exact")
        _go(sofia, "Incidents")
        recorded = sofia.locator("table.incidents tbody tr")
        expect(recorded.first).to_contain_text("nils")
        _shot(sofia, "34-incidents-recorded")
        sofia_context.close()
    finally:
        for context in browser.contexts:
            context.close()
    watch.check()
