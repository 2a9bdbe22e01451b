"""`casevault redact --workers N` end to end on a generated JSONL corpus, with Presidio measured in the same run.

What the issue's "250M records in <= 8 h on 2 cores" asks of the tool itself: reading, parsing, redacting and
writing records, shards committed atomically. The corpus is the labelled one of corpus.py (~570 characters a
ticket); Presidio (analyzer + anonymizer, spaCy small, in its own venv) is timed on the first tickets of it.

    .venv/bin/python -m benchmarks.redaction.cli_bench --count 50000 --workers 2 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.redaction.corpus import generate
from benchmarks.redaction.run_bench import _presidio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50_000, help="tickets in the JSONL")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--presidio-count", type=int, default=100, help="0 skips Presidio")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cv-redact-bench-") as scratch:
        root = Path(scratch)
        corpus = root / "tickets.jsonl"
        rows = generate(args.count, args.seed)
        corpus.write_text(
            "".join(json.dumps({"id": index, "text": row["text"]}) + "\n" for index, row in enumerate(rows))
        )
        tiny = root / "tiny.jsonl"
        tiny.write_text(
            "".join(json.dumps({"id": index, "text": row["text"]}) + "\n" for index, row in enumerate(rows[:10]))
        )
        loadavg_before = os.getloadavg()
        walls, startups = [], []
        for run in range(args.runs):
            walls.append(_timed_redact(corpus, root / f"out-{run}", args.workers))
            startups.append(_timed_redact(tiny, root / f"tiny-{run}", args.workers))
        summary = json.loads((root / "out-0" / "summary.json").read_text())
        size = corpus.stat().st_size
        presidio = _presidio(corpus, args.presidio_count) if args.presidio_count else None
    rates = [args.count / wall for wall in walls]
    # The command's fixed cost (imports, the redactor built in each worker), which 250M records would not notice.
    startup = statistics.median(startups)
    steady = [args.count / (wall - startup) for wall in walls]
    report: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "machine": {"nproc": os.cpu_count(), "load_before": loadavg_before, "load_after": os.getloadavg()},
        "tickets": args.count,
        "jsonl_bytes": size,
        "workers": args.workers,
        "wall_seconds": [round(wall, 2) for wall in walls],
        "tickets_per_second": [round(rate) for rate in rates],
        "median_tickets_per_second": round(statistics.median(rates)),
        "startup_seconds": [round(seconds, 2) for seconds in startups],
        "median_tickets_per_second_after_startup": round(statistics.median(steady)),
        "records_written": summary["written"],
    }
    if presidio is not None:
        presidio_rate = presidio["tickets"] / statistics.median(presidio["cpu_seconds"])
        report["presidio_tickets_per_cpu_second"] = round(presidio_rate, 1)
        report["ratio_to_presidio_one_cpu"] = round(statistics.median(rates) / presidio_rate, 1)
        report["ratio_after_startup_to_presidio_one_cpu"] = round(statistics.median(steady) / presidio_rate, 1)
    print(json.dumps(report, indent=1))


def _timed_redact(source: Path, out: Path, workers: int) -> float:
    command = [sys.executable, "-m", "casevault", "redact", str(source), "--out", str(out), "-f", "text"]
    began = time.perf_counter()
    subprocess.run([*command, "--workers", str(workers)], check=True, capture_output=True)
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
