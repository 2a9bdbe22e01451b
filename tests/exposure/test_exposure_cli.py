"""`casevault scan` through the CLI: formats, exit codes, SARIF validity against the official 2.1.0 schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import casevault.exposure as exposure
from casevault.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
# The OASIS SARIF 2.1.0 schema (errata01), committed as-is; see docs/adr/0203-sarif-schema-in-tests.md.
SARIF_SCHEMA = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())

runner = CliRunner()


def test_public_api_is_pinned() -> None:
    assert sorted(exposure.__all__) == [
        "CATALOGUE", "Check", "FileKind", "Finding", "ProbeKind", "ProbeResult", "ProbeSpec", "Role",
        "ScanResult", "Scanner", "Severity", "Webhook", "classify", "parse_target", "print_table", "probe",
        "scan_paths", "self_check", "to_json", "to_sarif", "watch",
    ]  # fmt: skip


def test_sarif_output_is_valid_and_points_at_lines(tmp_path: Path) -> None:
    out = tmp_path / "scan.sarif"
    result = runner.invoke(app, ["scan", str(FIXTURES / "pos"), "--format", "sarif", "--output", str(out)])
    assert result.exit_code == 1, result.output
    log = json.loads(out.read_text())
    jsonschema.validate(log, SARIF_SCHEMA)
    run = log["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rule_ids == sorted(set(rule_ids))
    nsg = [r for r in run["results"] if r["ruleId"] == "CV-TF-001"]
    uris = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in nsg}  # fmt: skip
    assert ("tf-azure/main.tf", 10) in uris
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    rule = run["tool"]["driver"]["rules"][rule_ids.index("CV-TF-001")]
    assert rule["properties"]["security-severity"] == "8.0"


def test_sarif_with_probe_findings_is_valid() -> None:
    result = runner.invoke(app, ["scan", "--probe", "127.0.0.1:6379", "--format", "sarif"])
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_SCHEMA)
    (finding,) = log["runs"][0]["results"]
    assert finding["locations"][0]["logicalLocations"][0]["name"] == "127.0.0.1:6379"


def test_empty_sarif_is_valid() -> None:
    jsonschema.validate(exposure.to_sarif([]), SARIF_SCHEMA)


def test_json_output_and_exit_codes() -> None:
    result = runner.invoke(app, ["scan", str(FIXTURES / "pos" / "pg-hba-only"), "--format", "json"])
    assert result.exit_code == 0  # two medium findings stay below the default --fail-on high
    payload = json.loads(result.stdout)
    assert payload["summary"]["medium"] == 2
    assert {f["check_id"] for f in payload["findings"]} == {"CV-PG-002", "CV-PG-003"}
    failing = runner.invoke(app, ["scan", str(FIXTURES / "pos" / "pg-hba-only"), "--fail-on", "medium"])
    assert failing.exit_code == 1


def test_clean_tree_exits_zero_with_a_table() -> None:
    result = runner.invoke(app, ["scan", str(FIXTURES / "neg")])
    assert result.exit_code == 0
    assert "No exposure found" in result.stdout


def test_table_lists_escalated_findings() -> None:
    result = runner.invoke(app, ["scan", str(FIXTURES / "pos" / "es7")], terminal_width=200)
    assert result.exit_code == 1
    assert "CV-ES-001" in result.stdout
    assert "escalated" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["scan"],
        ["scan", "/no/such/path"],
        ["scan", str(FIXTURES / "neg"), "--format", "xml"],
        ["scan", str(FIXTURES / "neg"), "--fail-on", "severe"],
        ["scan", "--probe", "not-a-target"],
        ["scan", "--probe", "127.0.0.1:6379", "--probe-kind", "oracle"],
        ["scan", "--watch", "--webhook", "ftp://127.0.0.1/", "--probe", "127.0.0.1:6379", "--max-cycles", "1"],
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_help_describes_the_command() -> None:
    result = runner.invoke(app, ["scan", "--help"])
    assert result.exit_code == 0
    for option in ("--format", "--fail-on", "--probe", "--watch", "--webhook", "--self"):
        assert option in result.stdout


def test_library_needs_no_database_or_web_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, casevault.exposure as e; "
        "e.scan_paths([]); "
        "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'psycopg', 'casevault.db') if m in sys.modules))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
