"""Findings, severities and the catalogue of checks with stable ids."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from typing import Any


class Severity(enum.StrEnum):
    """How bad a finding is; ordered from info to critical."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order info < low < medium < high < critical."""
        return _RANKS[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name, case-insensitively; raises ValueError for anything else."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(member.value for member in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None


_RANKS = {severity: index for index, severity in enumerate(Severity)}


class Role(enum.StrEnum):
    """What a check says about a data store, used to escalate when exposure and missing auth combine."""

    EXPOSURE = "exposure"
    NO_AUTH = "no-auth"
    OTHER = "other"


@dataclass(frozen=True)
class Check:
    """One entry of the catalogue: a stable id and what to tell the reader."""

    check_id: str
    title: str
    severity: Severity
    role: Role
    remediation: str
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem found in a file or on a live target; evidence never holds secret values."""

    check_id: str
    severity: Severity
    title: str
    evidence: str
    remediation: str
    references: tuple[str, ...] = ()
    file: str | None = None
    line: int | None = None
    target: str | None = None
    subject: str = ""
    escalated: bool = False
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def location(self) -> str:
        """Where the finding is: file:line for files, host:port for probes."""
        if self.file is not None:
            return f"{self.file}:{self.line}" if self.line else self.file
        return self.target or ""

    @property
    def fingerprint(self) -> str:
        """A stable identity across scans (check, place, subject), used by watch mode and SARIF."""
        raw = "\x1f".join([self.check_id, self.file or "", self.target or "", self.subject, self.evidence])
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "check_id": self.check_id,
            "severity": self.severity.value,
            "title": self.title,
            "file": self.file,
            "line": self.line,
            "target": self.target,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "references": list(self.references),
            "escalated": self.escalated,
            "fingerprint": self.fingerprint,
            "details": dict(self.details),
        }


class Catalogue:
    """The registry of checks; registering an id twice is an error."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}

    def add(self, check: Check) -> Check:
        """Register a check and return it."""
        if check.check_id in self._checks:
            raise ValueError(f"duplicate check id {check.check_id}")
        self._checks[check.check_id] = check
        return check

    def __getitem__(self, check_id: str) -> Check:
        return self._checks[check_id]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def all(self) -> list[Check]:
        """Every check, sorted by id."""
        return sorted(self._checks.values(), key=lambda check: check.check_id)


def make_finding(
    check: Check,
    evidence: str,
    *,
    file: str | None = None,
    line: int | None = None,
    target: str | None = None,
    subject: str = "",
    severity: Severity | None = None,
    title: str | None = None,
    details: dict[str, Any] | None = None,
) -> Finding:
    """Build a finding from a catalogue entry, optionally overriding the default severity or title."""
    return Finding(
        check_id=check.check_id,
        severity=severity or check.severity,
        title=title or check.title,
        evidence=evidence,
        remediation=check.remediation,
        references=check.references,
        file=file,
        line=line,
        target=target,
        subject=subject,
        details=details or {},
    )


def escalate(findings: list[Finding], roles: dict[str, Role]) -> list[Finding]:
    """Raise missing-auth findings to critical where the same file and subject is also exposed.

    An open network alone or missing authentication alone is a risk; both together is how the 2019
    support-record leak happened, so that combination is critical.
    """
    exposed: dict[tuple[str, str], Finding] = {}
    for finding in findings:
        if roles.get(finding.check_id) is Role.EXPOSURE:
            exposed.setdefault((finding.file or finding.target or "", finding.subject), finding)
    result: list[Finding] = []
    for finding in findings:
        key = (finding.file or finding.target or "", finding.subject)
        partner = exposed.get(key)
        if (
            roles.get(finding.check_id) is Role.NO_AUTH
            and partner is not None
            and finding.severity is not Severity.CRITICAL
        ):
            where = f" (line {partner.line})" if partner.line else ""
            finding = replace(
                finding,
                severity=Severity.CRITICAL,
                escalated=True,
                evidence=f"{finding.evidence}; combined with {partner.check_id}{where}: {partner.evidence}",
            )
        result.append(finding)
    return result


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by place."""
    return sorted(
        findings,
        key=lambda f: (-f.severity.rank, f.file or "", f.line or 0, f.target or "", f.check_id),
    )
