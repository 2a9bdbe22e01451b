"""Create-then-read a case over HTTP at a fixed arrival rate, against `casevault serve` on PostgreSQL.

Load tool: an open-loop asyncio + httpx generator in its own process. Operation i is scheduled at
t0 + i/rate whatever happened before it, and its latency is measured from that scheduled time, so a slow server
cannot hide queueing delay (no coordinated omission). One operation = POST /api/v1/cases, then GET of the
returned case number. The anchor is GET /healthz driven the same way in the same run (the app's fixed cost:
middleware, uvicorn, the client itself).

    .venv/bin/python benchmarks/api/create_then_read.py --rate 100 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.cases import services
from casevault.cases.models import QueueRole
from casevault.cli.server import init_data_dir
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.identity import Staff, issue_token

PG_ADMIN = os.environ.get("CASEVAULT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DESCRIPTION = (
    "Hi, this is Jane Doe from Northwind. Since this morning none of our users can log in. I'm connecting from "
    "81.2.69.160 and get error 403 every time. You can reach me on +44 20 7946 0958 or at jane.doe@northwind.co.uk."
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _setup(data_dir: Path, url: str) -> tuple[str, str]:
    settings = Settings(data_dir=data_dir, database_url=url)
    init_data_dir(settings)
    keyring = Keyring(LocalKeyFile(settings.resolved_key_file))
    operator = Actor.cli("bench")
    db = Database(url)
    with db.unit_of_work() as session:
        queue = services.create_queue(session, name="bench", actor=operator)
        agent = Staff(username="bench-agent", display_name="Bench Agent", role=Role.AGENT)
        session.add(agent)
        session.flush()
        services.add_queue_member(session, queue, agent, role=QueueRole.MEMBER, actor=operator)
        customer = services.create_customer(
            session, keyring=keyring, name="Jane Doe", email="jane.doe@northwind.co.uk", country="GB", actor=operator
        )
        _, token = issue_token(
            session, agent, name="bench", scopes=["case:create", "case:read"], ttl=timedelta(hours=2)
        )
        reference = customer.reference
    db.dispose()
    return token, reference


async def _drive(base: str, token: str, customer: str, rate: float, seconds: float, mode: str) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    body = {"customer": customer, "queue": "bench", "subject": "Cannot log in", "description": DESCRIPTION}
    latencies: list[float] = []
    create_ms: list[float] = []
    read_ms: list[float] = []
    errors = 0
    error_kinds: dict[str, int] = {}
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0, limits=limits) as client:

        async def operation(scheduled: float) -> None:
            nonlocal errors
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                if mode == "anchor":
                    response = await client.get("/healthz")
                    ok = response.status_code == 200
                else:
                    created = await client.post("/api/v1/cases", json=body)
                    after_create = time.perf_counter()
                    ok = created.status_code == 201
                    if ok:
                        read = await client.get(f"/api/v1/cases/{created.json()['number']}")
                        ok = read.status_code == 200
                        read_ms.append((time.perf_counter() - after_create) * 1000)
                        create_ms.append((after_create - scheduled) * 1000)
            except httpx.HTTPError as exc:
                ok = False
                error_kinds[type(exc).__name__] = error_kinds.get(type(exc).__name__, 0) + 1
            if ok:
                latencies.append((time.perf_counter() - scheduled) * 1000)
            else:
                errors += 1

        start = time.perf_counter() + 0.2
        count = int(rate * seconds)
        await asyncio.gather(*(operation(start + i / rate) for i in range(count)))
        elapsed = time.perf_counter() - start
    result: dict[str, object] = {
        "mode": mode,
        "rate": rate,
        "ops": count,
        "errors": errors,
        "error_kinds": error_kinds,
        "elapsed_s": elapsed,
    }
    if latencies:
        result |= {
            "p50_ms": statistics.median(latencies),
            "p95_ms": _percentile(latencies, 0.95),
            "p99_ms": _percentile(latencies, 0.99),
            "max_ms": max(latencies),
        }
    if create_ms:
        result |= {"create_p99_ms": _percentile(create_ms, 0.99), "read_p99_ms": _percentile(read_ms, 0.99)}
    return result


def _generator(base: str, token: str, customer: str, rate: float, seconds: float, mode: str, out: object) -> None:
    """Runs in its own process so the load generator's CPU is not the server's."""
    result = asyncio.run(_drive(base, token, customer, rate, seconds, mode))
    out.put(result)  # type: ignore[attr-defined]


def _run_phase(base: str, token: str, customer: str, rate: float, seconds: float, mode: str) -> dict[str, object]:
    queue: multiprocessing.Queue[dict[str, object]] = multiprocessing.Queue()
    process = multiprocessing.Process(target=_generator, args=(base, token, customer, rate, seconds, mode, queue))
    process.start()
    result = queue.get(timeout=seconds * 10 + 120)
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="operations (create + read) per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--output", type=Path, default=None, help="write the JSON result here")
    args = parser.parse_args()

    database = f"cv_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{database}"
    workdir = Path(tempfile.mkdtemp(prefix="cv-bench-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        token, customer = _setup(workdir / "data", url)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "casevault", "serve", "--data-dir", str(workdir / "data"), "--port", str(port)],
            env={**os.environ, "CASEVAULT_DATABASE_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "server.log").open("wb"),
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        _run_phase(base, token, customer, min(args.rate, 50.0), args.warmup, "create_then_read")
        anchor = _run_phase(base, token, customer, args.rate * 2, args.seconds, "anchor")
        measured = _run_phase(base, token, customer, args.rate, args.seconds, "create_then_read")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version()},
        "server": "casevault serve (1 uvicorn process) on PostgreSQL 127.0.0.1",
        "load_tool": "open-loop asyncio+httpx generator in a separate process",
        "anchor_healthz_at_2x_rate": anchor,
        "create_then_read": measured,
    }
    if isinstance(measured.get("p99_ms"), float) and isinstance(anchor.get("p99_ms"), float):
        report["p99_ratio_to_anchor"] = measured["p99_ms"] / anchor["p99_ms"]  # type: ignore[operator]
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
