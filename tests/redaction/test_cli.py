"""`casevault redact` end to end: formats, fields, rejects, report-only, usage errors and resume after kill -9."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from casevault.cli import app

runner = CliRunner()
BODY = "Hi Sarah, mail john.smith@contoso.com or call +1 415-555-0132. Card 4111 1111 1111 1111."


def _parts(out: Path, suffix: str) -> list[Path]:
    return sorted((out / "parts").glob(f"part-*.{suffix}"))


def _jsonl_records(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for part in _parts(out, "jsonl") for line in part.read_text().splitlines()]


def test_jsonl_fields_by_name_and_json_path_with_a_reject_file(tmp_path: Path) -> None:
    source = tmp_path / "cases.jsonl"
    lines = [
        json.dumps({"id": 1, "body": BODY, "meta": {"note": "ip 203.0.113.54"}, "keep": "bob@contoso.com"}),
        "{not json",
        "",
        json.dumps({"id": 2, "body": "nothing here", "meta": {"note": "n/a"}, "keep": "x"}),
    ]
    source.write_bytes("\n".join(lines).encode() + b"\n" + b'{"id": 3, "body": "bad \xff byte"}\n' + b"[1, 2]\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["redact", str(source), "--out", str(out), "-f", "body", "-f", "$.meta.note"])
    assert result.exit_code == 0, result.output
    records = _jsonl_records(out)
    assert records == [
        {
            "id": 1,
            "body": "Hi <PERSON>, mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>. Card <CREDIT_CARD>.",
            "meta": {"note": "ip <IP_ADDRESS>"},
            "keep": "bob@contoso.com",
        },
        {"id": 2, "body": "nothing here", "meta": {"note": "n/a"}, "keep": "x"},
    ]
    rejects = [json.loads(line) for line in (out / "rejects" / "part-00000.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"].split(" at ")[0]) for r in rejects] == [
        (2, "invalid JSON"),
        (5, "invalid UTF-8"),
        (6, "a JSON line must hold an object"),
    ]
    assert all("body" not in json.dumps(r) for r in rejects)  # rejects never carry content
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["records"], summary["written"], summary["rejected"]) == (5, 2, 3)
    assert summary["entities"] == {
        "PERSON": 1,
        "EMAIL_ADDRESS": 1,
        "PHONE_NUMBER": 1,
        "CREDIT_CARD": 1,
        "IP_ADDRESS": 1,
    }


def test_csv_with_multiline_quoted_field_and_token_operator(tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "notes"])
        writer.writerow(["1", "first line\nsecond line mail ann@contoso.com"])
        writer.writerow(["2", "ann@contoso.com again"])
    key = tmp_path / "key"
    key.write_text("ab" * 32)
    out = tmp_path / "out"
    args = ["redact", str(source), "-o", str(out), "--operator", "token", "--key-file", str(key), "-f", "notes"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(_parts(out, "csv")[0].read_text().splitlines(keepends=True)))
    assert rows[0] == ["id", "notes"]
    first_token = rows[1][1].split()[-1]
    assert rows[1][1] == f"first line\nsecond line mail {first_token}"
    assert rows[2][1] == f"{first_token} again"
    assert first_token.startswith("[EMAIL_ADDRESS:")


def test_parquet_columns_are_redacted(tmp_path: Path) -> None:
    source = tmp_path / "cases.parquet"
    pq.write_table(pa.table({"id": [1, 2], "body": [BODY, None]}), source)
    out = tmp_path / "out"
    result = runner.invoke(app, ["redact", str(source), "-o", str(out), "--operator", "mask"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(_parts(out, "parquet")[0])
    assert table.column("id").to_pylist() == [1, 2]
    masked = table.column("body").to_pylist()
    assert masked[1] is None
    assert "john" not in masked[0]
    assert len(masked[0]) == len(BODY)


def test_report_only_counts_without_writing_data(tmp_path: Path) -> None:
    source = tmp_path / "export.jsonl"
    source.write_text(json.dumps({"body": BODY}) + "\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["redact", str(source), "-o", str(out), "--report-only"])
    assert result.exit_code == 0, result.output
    assert _parts(out, "jsonl") == []
    summary = json.loads((out / "summary.json").read_text())
    assert summary["by_field"] == {"body": {"PERSON": 1, "EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1, "CREDIT_CARD": 1}}
    assert summary["samples"]["EMAIL_ADDRESS"] == [{"line": 1, "field": "body", "start": 15, "end": 37}]
    assert "john" not in result.output
    assert "body[15:37]" in result.output


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["redact", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "o")])
    assert missing.exit_code == 2
    assert "no such input file" in missing.output
    unknown = tmp_path / "data.txt"
    unknown.write_text("x")
    assert runner.invoke(app, ["redact", str(unknown), "-o", str(tmp_path / "o")]).exit_code == 2
    source = tmp_path / "a.jsonl"
    source.write_text("{}\n")
    no_key = runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "o"), "--operator", "token"])
    assert no_key.exit_code == 2
    assert "--key-file" in no_key.output
    bad_path = runner.invoke(app, ["redact", str(source), "-o", str(tmp_path / "o"), "-f", "a[x]"])
    assert bad_path.exit_code == 2
    assert "Traceback" not in bad_path.output


def test_resume_after_kill_9_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    count = 6000
    with source.open("w") as handle:
        for index in range(count):
            handle.write(json.dumps({"id": index, "body": f"case {index}: {BODY} Thanks, David Miller"}) + "\n")
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "casevault",
        "redact",
        str(source),
        "-o",
        str(out),
        "-w",
        "2",
        "--shard-size",
        "20000",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    stats = out / "stats"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(stats.glob("*.json"))) < 3 and process.poll() is None:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its workers, mid-job
    process.wait()
    total_shards = len(json.loads((out / "manifest.json").read_text())["shards"])
    assert 3 <= len(list(stats.glob("*.json"))) < total_shards, "the kill must land mid-job"

    resumed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    records = _jsonl_records(out)
    assert sorted(record["id"] for record in records) == list(range(count))
    assert all("john.smith" not in record["body"] for record in records)
    assert list(out.glob("*/*.tmp")) == []
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["records"], summary["written"], summary["committed_shards"]) == (count, count, total_shards)


def test_a_small_file_is_cut_into_shards_for_every_worker(tmp_path: Path) -> None:
    source = tmp_path / "small.jsonl"
    record = json.dumps({"body": BODY + " " + "x" * 900}) + "\n"
    source.write_text(record * 4_500)  # ~4.5 MB: one 64 MiB shard would leave the second worker idle
    out = tmp_path / "out"
    result = runner.invoke(app, ["redact", str(source), "--out", str(out), "-f", "body", "--workers", "2"])
    assert result.exit_code == 0, result.output
    shards = json.loads((out / "manifest.json").read_text())["shards"]
    # 4.5 MB for 2 workers x 4 shards is under the 1 MiB floor: shards of ~1 MiB, the last one shorter.
    assert len(shards) == 5
    assert all(shard["end"] - shard["start"] >= 1 << 20 for shard in shards[:-1])
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["records"], summary["written"], summary["committed_shards"]) == (4_500, 4_500, 5)
