"""Render findings as JSON, SARIF 2.1.0 (GitHub code-scanning conventions) or a rich table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from casevault import __version__ as casevault_version
from casevault.exposure.catalogue import CATALOGUE
from casevault.exposure.findings import Finding, Severity

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/casevault/casevault"

_SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub reads `security-severity` (0.0-10.0) to rank alerts as critical/high/medium/low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def to_json(findings: Sequence[Finding], *, files_seen: int | None = None) -> str:
    """Findings as a JSON document with a summary by severity."""
    summary = {severity.value: 0 for severity in Severity}
    for finding in findings:
        summary[finding.severity.value] += 1
    payload: dict[str, Any] = {
        "tool": "casevault-exposure",
        "version": casevault_version,
        "summary": summary,
        "findings": [finding.to_dict() for finding in findings],
    }
    if files_seen is not None:
        payload["files_seen"] = files_seen
    return json.dumps(payload, indent=2, sort_keys=False)


def _rule(check_id: str) -> dict[str, Any]:
    check = CATALOGUE[check_id]
    help_lines = [check.remediation] + [f"See {reference}" for reference in check.references]
    rule: dict[str, Any] = {
        "id": check.check_id,
        "name": "".join(part.capitalize() for part in check.title.replace("/", " ").split()[:8]),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": f"{check.title}. {check.remediation}"},
        "help": {
            "text": "\n".join(help_lines),
            "markdown": "\n\n".join([check.remediation] + [f"[{ref}]({ref})" for ref in check.references]),
        },
        "defaultConfiguration": {"level": _SARIF_LEVEL[check.severity]},
        "properties": {
            "tags": ["security", "misconfiguration", check.role.value],
            "security-severity": _SECURITY_SEVERITY[check.severity],
            "precision": "high",
        },
    }
    if check.references:
        rule["helpUri"] = check.references[0]
    return rule


def to_sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run; file findings carry a relative artifact URI and start line."""
    rule_ids = sorted({finding.check_id for finding in findings})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    results: list[dict[str, Any]] = []
    for finding in findings:
        result: dict[str, Any] = {
            "ruleId": finding.check_id,
            "ruleIndex": index[finding.check_id],
            "level": _SARIF_LEVEL[finding.severity],
            "message": {"text": f"{finding.title}: {finding.evidence}"},
            "partialFingerprints": {"casevaultFindingHash/v1": finding.fingerprint},
            "properties": {
                "severity": finding.severity.value,
                "escalated": finding.escalated,
                "security-severity": _SECURITY_SEVERITY[finding.severity],
            },
        }
        if finding.file is not None:
            region = {"startLine": finding.line} if finding.line else {"startLine": 1}
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": finding.file, "uriBaseId": "%SRCROOT%"},
                        "region": region,
                    }
                }
            ]
        elif finding.target is not None:
            result["locations"] = [
                {
                    "logicalLocations": [
                        {"name": finding.target, "kind": "resource", "fullyQualifiedName": finding.target}
                    ]
                }
            ]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "casevault-exposure",
                        "informationUri": INFORMATION_URI,
                        "semanticVersion": casevault_version,
                        "rules": [_rule(rule_id) for rule_id in rule_ids],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The scanned directory."}}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def print_table(findings: Sequence[Finding], console: Console, *, files_seen: int | None = None) -> None:
    """A readable table, most severe first, with a one-line summary."""
    if not findings:
        console.print(f"[green]No exposure found[/green]{f' in {files_seen} files' if files_seen is not None else ''}.")
        return
    table = Table(show_lines=False, header_style="bold")
    table.add_column("Severity", no_wrap=True)
    table.add_column("Check", no_wrap=True)
    table.add_column("Where", overflow="fold")
    table.add_column("Finding", overflow="fold")
    wide = console.width >= 120
    for finding in findings:
        marker = "\n(escalated)" if finding.escalated else ""
        text = f"[bold]{finding.title}[/bold]\n{finding.evidence}"
        if wide:
            text += f"\n[dim]Fix: {finding.remediation}[/dim]"
        table.add_row(
            f"[{_STYLE[finding.severity]}]{finding.severity.value}[/]{marker}",
            finding.check_id,
            finding.location,
            text,
        )
    console.print(table)
    counts = dict.fromkeys(Severity, 0)
    for finding in findings:
        counts[finding.severity] += 1
    summary = ", ".join(f"{counts[s]} {s.value}" for s in reversed(list(Severity)) if counts[s])
    console.print(f"{len(findings)} findings: {summary}")
