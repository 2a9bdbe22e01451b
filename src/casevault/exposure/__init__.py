"""Exposure scanner: misconfiguration checks, live probes, self-check, watch mode and SARIF output.

Usable as a plain library with no database: `scan_paths(["infra/"]).findings`.
"""

from casevault.exposure.catalogue import CATALOGUE
from casevault.exposure.findings import Check, Finding, Role, Severity
from casevault.exposure.probes import ProbeKind, ProbeResult, parse_target, probe
from casevault.exposure.report import print_table, to_json, to_sarif
from casevault.exposure.scanner import FileKind, Scanner, ScanResult, classify, scan_paths
from casevault.exposure.selfcheck import self_check
from casevault.exposure.watch import ProbeSpec, Webhook, watch

__all__ = [
    "CATALOGUE",
    "Check",
    "FileKind",
    "Finding",
    "ProbeKind",
    "ProbeResult",
    "ProbeSpec",
    "Role",
    "ScanResult",
    "Scanner",
    "Severity",
    "Webhook",
    "classify",
    "parse_target",
    "print_table",
    "probe",
    "scan_paths",
    "self_check",
    "to_json",
    "to_sarif",
    "watch",
]
