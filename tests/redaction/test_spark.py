"""`--engine spark` on a tiny file in local mode; skipped when PySpark (the optional extra) is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casevault.cli import app

pytest.importorskip("pyspark", reason="PySpark is the optional extra casevault[spark]; not installed")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime (Java 17) on PATH", allow_module_level=True)


@pytest.mark.slow
def test_spark_engine_redacts_jsonl_and_counts_malformed_lines(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    source.write_text(
        json.dumps({"id": 1, "body": "mail john.smith@contoso.com or call +1 415-555-0132"})
        + "\n{broken\n"
        + json.dumps({"id": 2, "body": "nothing"})
        + "\n"
    )
    out = tmp_path / "out"
    args = ["redact", str(source), "-o", str(out), "--engine", "spark", "--master", "local[1,2]", "-f", "body"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [
        json.loads(line)
        for part in sorted((out / "data").glob("part-*.json"))
        for line in part.read_text().splitlines()
    ]
    assert sorted(rows, key=lambda row: row["id"]) == [
        {"id": 1, "body": "mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>"},
        {"id": 2, "body": "nothing"},
    ]
    note = [
        json.loads(line) for part in (out / "rejects").glob("part-*.json") for line in part.read_text().splitlines()
    ]
    assert note[0]["malformed_records"] == 1
