"""CPU per create-then-read, with no HTTP and no concurrency: the ASGI app called directly, one operation at a time.

The HTTP benchmark (create_then_read.py) measures latency under load; this one isolates what one operation costs
the server process, which is what bounds the request rate a core can sustain. Runs alternate with `/healthz` (the
middleware and routing floor). The cores here are shared, and CPU time grows when another job runs on the sibling
hyperthread, so use `--runs` and compare the least-contended (minimum) figures.

    .venv/bin/python benchmarks/api/cpu_per_operation.py --ops 150 --runs 6
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from create_then_read import DESCRIPTION, PG_ADMIN, _setup
from psycopg import sql

from casevault.app import create_app
from casevault.config import Settings
from casevault.crypto import LocalKeyFile
from casevault.db import Database

Call = Callable[[], Awaitable[None]]


async def _request(app: Any, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    delivered = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(call: Call, ops: int) -> tuple[float, float]:
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(ops):
        await call()
    return 1000 * (_cpu() - cpu) / ops, 1000 * (time.perf_counter() - wall) / ops


async def _run(url: str, data_dir: Path, ops: int, runs: int) -> dict[str, Any]:
    token, customer, serving_url = _setup(data_dir, url)
    settings = Settings(data_dir=data_dir, database_url=serving_url)
    db = Database(serving_url)
    app = create_app(settings, database=db, key_provider=LocalKeyFile(settings.resolved_key_file))
    body = json.dumps(
        {"customer": customer, "queue": "bench", "subject": "Cannot log in", "description": DESCRIPTION}
    ).encode()

    async def create_then_read() -> None:
        status, created = await _request(app, "POST", "/api/v1/cases", token, body)
        assert status == 201, created
        status, read = await _request(app, "GET", f"/api/v1/cases/{json.loads(created)['number']}", token)
        assert status == 200, read

    async def healthz() -> None:
        status, _ = await _request(app, "GET", "/healthz", token)
        assert status == 200

    for _ in range(30):  # warm caches, pools and prepared statements
        await create_then_read()
    samples: dict[str, list[tuple[float, float]]] = {"healthz": [], "create_then_read": []}
    for _ in range(runs):
        samples["healthz"].append(await _measure(healthz, ops))
        samples["create_then_read"].append(await _measure(create_then_read, ops))
    db.dispose()
    return {
        name: {
            "cpu_ms_min": round(min(cpu for cpu, _ in values), 2),
            "cpu_ms_all": [round(cpu, 2) for cpu, _ in values],
            "wall_ms_at_min_cpu": round(min(values)[1], 2),
        }
        for name, values in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=150, help="operations per run")
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    database = f"cv_cpu_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{database}"
    try:
        result = asyncio.run(_run(url, Path(tempfile.mkdtemp(prefix="cv-cpu-")) / "data", args.ops, args.runs))
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "loadavg": os.getloadavg()},
        "ops_per_run": args.ops,
        **result,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
