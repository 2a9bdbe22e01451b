"""`audit verify` over a large generated chain (see generate_chain.py), against a plain-scan anchor.

    .venv/bin/python benchmarks/audit/bench_verify.py --database cv_bench_audit --repeat 3

Times verify() in-process (server-side hashing, the default) and, once, the `casevault audit verify` command,
plus the anchor: one sequential read of every event and subject row without any checking, in the same run.
Also reports the peak RSS of the process to show memory stays flat.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from casevault.audit import Ed25519Signer, verify
from casevault.crypto import LocalKeyFile
from casevault.db import Database

BASE_DSN = "postgresql://postgres@127.0.0.1:5432"


def anchor_scan(database: str) -> float:
    """Seconds to read every event and subject once (server side aggregate, nothing sent per row)."""
    with psycopg.connect(f"{BASE_DSN}/{database}") as conn:
        started = time.perf_counter()
        conn.execute("SELECT sum(length(actor_label) + length(detail::text)) FROM audit_events").fetchone()
        conn.execute("SELECT count(exposure) FROM audit_subjects").fetchone()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="cv_bench_audit")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/casevault-bench-audit"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()

    url = f"{BASE_DSN.replace('postgresql://', 'postgresql+psycopg://', 1)}/{args.database}"
    key = Ed25519Signer.from_provider(LocalKeyFile(args.data_dir / "keys" / "master.key")).public_key
    db = Database(url)
    scans: list[float] = []
    runs: list[float] = []
    events = 0
    for _ in range(args.repeat):
        scans.append(anchor_scan(args.database))
        started = time.perf_counter()
        report = verify(db.engine, keys=[key], workers=args.workers, chunk_size=args.chunk_size)
        runs.append(time.perf_counter() - started)
        assert report.ok, report.message
        events = report.events_checked
        print(
            f"  verify {report.events_checked:,} events, {report.checkpoints_checked} checkpoints: {runs[-1]:.1f} s "
            f"(anchor scan {scans[-1]:.1f} s)",
            flush=True,
        )
    db.dispose()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median(runs)
    anchor = statistics.median(scans)
    print(f"verify() median {median:.1f} s = {events / median:,.0f} events/s; peak RSS {peak_mib:.0f} MiB")
    print(f"anchor scan median {anchor:.1f} s; verify / scan = {median / anchor:.1f}x")

    if not args.skip_cli:
        pem = args.data_dir / "audit.pub"
        with open(pem, "w", encoding="ascii") as handle:
            subprocess.run(
                [sys.executable, "-m", "casevault", "audit", "public-key", "--data-dir", str(args.data_dir)],
                check=True,
                stdout=handle,
                stderr=subprocess.DEVNULL,
            )
        started = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable, "-m", "casevault", "audit", "verify", "--json",
                "--database-url", url, "--public-key", str(pem),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "120"},
            check=False,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        print(f"`casevault audit verify` exit {result.returncode} in {elapsed:.1f} s (one run, includes start-up)")


if __name__ == "__main__":
    main()
