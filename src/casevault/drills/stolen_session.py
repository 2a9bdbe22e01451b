"""The stolen-session drill: how many customers does an attacker riding one agent's session reach before containment?

Threat model: the attacker holds the cookie of an agent session that has just completed password + TOTP, but not
the TOTP device, so it cannot answer a step-up (the sign-in's own factor is not one: docs/adr/0509-…). It lists
every case, enumerates case numbers, opens customers, looks up emails, reveals PII and probes export-like
endpoints, through the real ASGI app in-process, until the session is revoked (a 401 other than a step-up request).

"Customers whose data it obtained" are those it opened (masked PII, redacted text) or revealed a value of; those
that only appeared in a list (a customer reference and a redacted subject, no PII) are reported separately.

The drill never touches the operator's data: it copies the SQLite data directory (database and key file) to a
temporary directory, signs the agent in there with a fresh password and TOTP secret that are never printed, and
counts the customers exposed from that copy's audit trail. Only counts leave the drill, never values.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import sqlalchemy as sa
from fastapi.testclient import TestClient

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.app import create_app
from casevault.audit.events import Exposure
from casevault.audit.models import AuditEvent, AuditSubject
from casevault.config import Settings
from casevault.crypto.keyring import Keyring
from casevault.crypto.providers import LocalKeyFile
from casevault.db.session import Database
from casevault.detection.models import Alert
from casevault.drills.errors import DrillError
from casevault.identity import IdentityContext, SystemClock, provision_credentials
from casevault.identity.models import Staff, StaffStatus

__all__ = ["TARGET_MAX_CUSTOMERS", "StolenSessionReport", "run_stolen_session_drill"]

TARGET_MAX_CUSTOMERS = 10
_BASE_URL = "http://localhost:8000"
_API = "/api/v1"
_PAGE = 100
_REASON = "customer called back to confirm their details"
# Endpoints an attacker tries for bulk data; none should answer an agent with data.
_PROBES = (
    "/customers",
    "/customers/export",
    "/cases/export",
    "/audit/events",
    "/organizations",
    "/cases/search?q=email",
)
_GUESSED_EMAILS = ("admin@example.com", "info@example.com", "john.smith@example.com", "jane.doe@example.com")


@dataclass
class StolenSessionReport:
    """The drill's result: request counts and distinct customers from the audit trail; holds no PII."""

    agent: str
    requests: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    probes: dict[str, int] = field(default_factory=dict)
    reveals_succeeded: int = 0
    revoked: bool = False
    requests_before_revocation: int = 0
    customers_listed: int = 0
    customers_opened: int = 0
    customers_revealed: int = 0
    customers_total: int = 0
    step_ups_refused: int = 0
    reveals_before_alert: int = 0
    alerts: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def alerted(self) -> bool:
        """True when at least one alert names the agent."""
        return bool(self.alerts)

    @property
    def customers_obtained(self) -> int:
        """Customers whose data the attacker got: opened (masked) or with a value revealed."""
        return self.customers_opened + self.customers_revealed

    @property
    def target_met(self) -> bool:
        """≤ 10 customers' data obtained and no value unmasked before an alert was raised."""
        return self.customers_obtained <= TARGET_MAX_CUSTOMERS and self.reveals_before_alert == 0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "agent": self.agent,
            "target_max_customers": TARGET_MAX_CUSTOMERS,
            "target_met": self.target_met,
            "revoked": self.revoked,
            "requests_before_revocation": self.requests_before_revocation,
            "requests": self.requests,
            "statuses": self.statuses,
            "probes": self.probes,
            "reveals_succeeded": self.reveals_succeeded,
            "step_ups_refused": self.step_ups_refused,
            "customers": {
                "listed_only": self.customers_listed,
                "opened_masked": self.customers_opened,
                "revealed": self.customers_revealed,
                "obtained": self.customers_obtained,
                "total": self.customers_total,
            },
            "reveals_before_alert": self.reveals_before_alert,
            "alerted": self.alerted,
            "alerts": self.alerts,
            "seconds": round(self.seconds, 3),
        }


class _Stop(Exception):
    """The session was revoked: the attack is over."""


class _Attacker:
    """Drives the app as the stolen session and keeps counts (never response bodies beyond what it needs)."""

    def __init__(self, client: TestClient, csrf: str, report: StolenSessionReport) -> None:
        self.client = client
        self.csrf = csrf
        self.report = report

    def call(self, kind: str, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if method == "POST" else {}
        response = self.client.request(method, _API + path, headers=headers, **kwargs)
        self.report.requests[kind] = self.report.requests.get(kind, 0) + 1
        key = str(response.status_code)
        self.report.statuses[key] = self.report.statuses.get(key, 0) + 1
        if response.status_code == 401:
            if _error_code(response) == "step_up_required":
                # Asked for a second factor it does not hold: refused, but the session lives on.
                self.report.step_ups_refused += 1
                self.report.requests_before_revocation += 1
                return response
            self.report.revoked = True
            raise _Stop
        self.report.requests_before_revocation += 1
        return response


def _error_code(response: Any) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


@contextmanager
def _copied_data_dir(settings: Settings, keep_copy: Path | None) -> Iterator[Path]:
    if settings.database_url is not None:
        # Only a SQLite data directory can be copied whole; never attack a live (PostgreSQL) database.
        raise DrillError("the stolen-session drill runs on a copy of a SQLite data directory; unset the database URL")
    source = settings.data_dir
    if not (source / "casevault.db").is_file():
        raise DrillError(f"no casevault.db under {source}; run `casevault demo --no-serve` first")
    if keep_copy is not None:
        if keep_copy.exists():
            raise DrillError(f"{keep_copy} already exists; --keep-copy needs a new directory")
        shutil.copytree(source, keep_copy)
        yield keep_copy
        return
    with tempfile.TemporaryDirectory(prefix="casevault-drill-") as tmp:
        target = Path(tmp) / "data"
        shutil.copytree(source, target)
        yield target


def _pick_agent(db: Database, username: str | None) -> Staff:
    with db.sessions() as session:
        query = sa.select(Staff).where(Staff.status == StaffStatus.ACTIVE, Staff.role == Role.AGENT)
        if username is not None:
            query = query.where(Staff.username == username)
        agent = session.scalars(query.order_by(Staff.username)).first()
    if agent is None:
        raise DrillError("no active agent" + (f" named {username}" if username else "") + " in this data directory")
    return agent


def run_stolen_session_drill(
    settings: Settings, *, agent: str | None = None, enumerate_up_to: int = 200, keep_copy: Path | None = None
) -> StolenSessionReport:
    """Play the attacker on a copy of the data directory (temporary unless `keep_copy`) and report what it got."""
    started = time.perf_counter()
    with _copied_data_dir(settings, keep_copy) as copy:
        drill_settings = settings.model_copy(
            update={"data_dir": copy, "database_url": None, "key_file": None, "cookie_secure": False}
        )
        key_file = copy / "keys" / "master.key"
        if settings.key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(settings.key_file, key_file)
        keyring = Keyring(LocalKeyFile(key_file))
        db = Database(drill_settings.resolved_database_url)
        try:
            staff = _pick_agent(db, agent)
            password = "drill-" + secrets.token_urlsafe(16)
            ctx = IdentityContext(settings=drill_settings, keyring=keyring, clock=SystemClock())
            with db.unit_of_work() as session:
                member = session.get(Staff, staff.id)
                if member is None:  # pragma: no cover - read a moment ago from the same private copy
                    raise DrillError("the agent vanished from the copy")
                enrolled = provision_credentials(
                    session, member, password=password, actor=Actor.system("drill"), ctx=ctx
                )
            with db.sessions() as session:
                first_seq = int(session.scalar(sa.select(sa.func.max(AuditEvent.seq))) or 0)
            report = StolenSessionReport(agent=staff.username)
            with TestClient(create_app(drill_settings, database=db), base_url=_BASE_URL) as client:
                login = client.post(f"{_API}/auth/login", json={"username": staff.username, "password": password})
                if login.status_code != 200:
                    raise DrillError(f"the drill could not sign the agent in (HTTP {login.status_code})")
                csrf = str(login.json()["csrf_token"])
                code = pyotp.TOTP(enrolled.totp_secret).now()
                mfa = client.post(f"{_API}/auth/mfa/totp", json={"code": code}, headers={"X-CSRF-Token": csrf})
                if mfa.status_code != 200:
                    raise DrillError(f"the drill could not complete MFA (HTTP {mfa.status_code})")
                csrf = str(mfa.json().get("csrf_token", csrf))
                # From here on the attacker holds only the cookie (and CSRF token it can read from the page).
                attacker = _Attacker(client, csrf, report)
                with suppress(_Stop):
                    _attack(attacker, enumerate_up_to)
            _count_from_audit(db, report, staff.id, first_seq)
        finally:
            db.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _attack(attacker: _Attacker, enumerate_up_to: int) -> None:
    numbers: list[str] = []
    customers: list[str] = []
    # 1. List everything the session can see.
    offset = 0
    while True:
        page = attacker.call("list", "GET", "/cases", params={"limit": _PAGE, "offset": offset})
        if page.status_code != 200:
            break
        body = page.json()
        for item in body["items"]:
            numbers.append(item["number"])
            customers.append(item["customer"])
        offset += _PAGE
        if offset >= int(body["total"]) or not body["items"]:
            break
    # 2. Probe bulk endpoints.
    for path in _PROBES:
        attacker.report.probes[path] = attacker.call("probe", "GET", path).status_code
    # 3. Open and reveal every listed case, then enumerate numbers it was not shown.
    emails: list[str] = []
    years = sorted({number.split("-")[1] for number in numbers}) or [time.strftime("%Y")]
    guessed = [f"CV-{year}-{n:06d}" for year in years for n in range(1, enumerate_up_to + 1)]
    for number in [*numbers, *[g for g in guessed if g not in set(numbers)]]:
        opened = attacker.call("open", "GET", f"/cases/{number}")
        if opened.status_code != 200:
            continue
        customers.append(opened.json()["customer"]["reference"])
        revealed = attacker.call(
            "reveal", "POST", f"/cases/{number}/reveal", json={"field": "customer.email", "reason": _REASON}
        )
        if revealed.status_code == 200:
            attacker.report.reveals_succeeded += 1
            emails.append(str(revealed.json()["value"]))
    # 4. Browse customers and search by (revealed or guessed) email.
    for reference in dict.fromkeys(customers):
        attacker.call("customer", "GET", f"/customers/{reference}")
    for email in [*emails, *_GUESSED_EMAILS]:
        attacker.call("lookup", "GET", "/customers/lookup", params={"email": email})


def _count_from_audit(db: Database, report: StolenSessionReport, staff_id: uuid.UUID, first_seq: int) -> None:
    """Distinct customers per highest exposure, from the copy's audit trail after sign-in; alerts on the agent."""
    rank = {str(Exposure.LISTED): 1, str(Exposure.OPENED): 2, str(Exposure.REVEALED): 3}
    with db.sessions() as session:
        rows = session.execute(
            sa.select(AuditSubject.customer_id, AuditSubject.exposure, AuditEvent.occurred_at)
            .join(AuditEvent, AuditEvent.seq == AuditSubject.event_seq)
            .where(
                AuditEvent.seq > first_seq,
                AuditEvent.actor_id == staff_id,
                AuditEvent.outcome == "allowed",
                AuditSubject.customer_id.is_not(None),
            )
        ).all()
        alerts = session.scalars(
            sa.select(Alert).where(Alert.subject_staff_id == staff_id).order_by(Alert.raised_at)
        ).all()
        best: dict[uuid.UUID, int] = {}
        for customer_id, exposure, _ in rows:
            if customer_id is not None and exposure in rank:
                best[customer_id] = max(best.get(customer_id, 0), rank[exposure])
        report.customers_listed = sum(1 for level in best.values() if level == 1)
        report.customers_opened = sum(1 for level in best.values() if level == 2)
        report.customers_revealed = sum(1 for level in best.values() if level == 3)
        report.customers_total = len(best)
        first_alert = alerts[0].raised_at if alerts else None
        report.reveals_before_alert = sum(
            1
            for _, exposure, occurred in rows
            if exposure == str(Exposure.REVEALED) and (first_alert is None or occurred < first_alert)
        )
        report.alerts = [{"kind": str(a.kind), "severity": str(a.severity)} for a in alerts]
