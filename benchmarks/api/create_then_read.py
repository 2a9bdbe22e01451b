"""Create-then-read a case over HTTP at fixed arrival rates, against `casevault serve` on PostgreSQL.

Load tool: an open-loop generator in its own process, written on raw asyncio streams (HTTP/1.1 keep-alive, a
hand-built request and a minimal response parser) so that it costs the machine a fraction of what the server
does; its CPU is measured and reported. Operation i is scheduled at t0 + i/rate whatever happened before it, and
its latency is measured from that scheduled time, so a slow server cannot hide queueing delay (no coordinated
omission). One operation = POST /api/v1/cases, then GET of the returned case number, so `--rates 100` is
200 requests/s. The anchor is GET /healthz driven the same way in the same run at the highest request rate (the
app's fixed cost: middleware, uvicorn, the client itself).

For every phase the report gives the latency percentiles and the CPU spent, per operation, by the server
processes, by this database's PostgreSQL backends, by the generator, and by everything else on the machine
(other people's work on shared cores), read from /proc.

    .venv/bin/python benchmarks/api/create_then_read.py --rates 25,50,100 --seconds 20 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import resource
import shutil
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
from typing import Any

import httpx
import psycopg
from psycopg import sql

from casevault.cli.server import init_data_dir
from casevault.config import Settings
from casevault.demo.one_agent import seed_one_agent

PG_ADMIN = os.environ.get("CASEVAULT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DESCRIPTION = (
    "Hi, this is Jane Doe from Northwind. Since this morning none of our users can log in. I'm connecting from "
    "81.2.69.160 and get error 403 every time. You can reach me on +44 20 7946 0958 or at jane.doe@northwind.co.uk."
)
_TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# The server connects as production does (README, "Running it for real"): a login role inside the non-owner
# application role, so every statement pays for row-level security. The owner (PG_ADMIN's user) migrates and seeds.
SERVING_ROLE = "casevault_bench"


def _setup(data_dir: Path, url: str) -> tuple[str, str, str]:
    """Migrate and seed `url` as the owner; the agent's token, the customer and the URL to serve with."""
    settings = Settings(data_dir=data_dir, database_url=url)
    serving_url = init_data_dir(settings, serving_role=SERVING_ROLE).serving_url
    assert serving_url is not None
    deployment = seed_one_agent(
        settings, label="bench", customer_name="Jane Doe", customer_email="jane.doe@northwind.co.uk", country="GB",
        token_ttl=timedelta(hours=2),
    )  # fmt: skip
    return deployment.token, deployment.customer, serving_url


# ------------------------------------------------------------------------------------------------ load generator


class _HttpError(Exception):
    """A response the operation did not expect (its status is the error kind)."""


class _Client:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: one request per connection at a time."""

    # Below uvicorn's 5 s keep-alive timeout: a connection the server may be closing is never reused.
    MAX_IDLE_S = 3.0

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.perf_counter() - since < self.MAX_IDLE_S:
                return reader, writer
            writer.close()
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        reader, writer = await self._connection()
        extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else ""
        writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode("ascii") + body)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        keep = True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                keep = False
        payload = await reader.readexactly(length) if length else b""
        if keep:
            self.idle.append((reader, writer, time.perf_counter()))
        else:
            writer.close()
        return status, payload

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def _drive(port: int, token: str, customer: str, rate: float, seconds: float, mode: str) -> dict[str, Any]:
    body = json.dumps(
        {"customer": customer, "queue": "bench", "subject": "Cannot log in", "description": DESCRIPTION}
    ).encode()
    client = _Client(port, token)
    latencies: list[float] = []
    create_ms: list[float] = []
    read_ms: list[float] = []
    errors: dict[str, int] = {}

    async def operation(scheduled: float) -> None:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            if mode == "anchor":
                status, _ = await client.request("GET", "/healthz")
                if status != 200:
                    raise _HttpError(f"healthz {status}")
            else:
                status, created = await client.request("POST", "/api/v1/cases", body)
                if status != 201:
                    raise _HttpError(f"create {status}")
                after_create = time.perf_counter()
                number = json.loads(created)["number"]
                status, _ = await client.request("GET", f"/api/v1/cases/{number}")
                if status != 200:
                    raise _HttpError(f"read {status}")
                create_ms.append((after_create - scheduled) * 1000)
                read_ms.append((time.perf_counter() - after_create) * 1000)
        except (OSError, asyncio.IncompleteReadError, _HttpError, ValueError, KeyError) as exc:
            kind = str(exc) if isinstance(exc, _HttpError) else type(exc).__name__
            errors[kind] = errors.get(kind, 0) + 1
            return
        latencies.append((time.perf_counter() - scheduled) * 1000)

    count = int(rate * seconds)
    start = time.perf_counter() + 0.2
    await asyncio.gather(*(operation(start + i / rate) for i in range(count)))
    elapsed = time.perf_counter() - start
    client.close()
    result: dict[str, Any] = {
        "mode": mode,
        "ops_per_s": rate,
        "requests_per_s": rate if mode == "anchor" else 2 * rate,
        "ops": count,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "elapsed_s": round(elapsed, 2),
    }
    if latencies:
        result |= {
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(_percentile(latencies, 0.95), 2),
            "p99_ms": round(_percentile(latencies, 0.99), 2),
            "max_ms": round(max(latencies), 2),
        }
    if create_ms:
        result |= {
            "create_p50_ms": round(statistics.median(create_ms), 2),
            "create_p99_ms": round(_percentile(create_ms, 0.99), 2),
            "read_p50_ms": round(statistics.median(read_ms), 2),
            "read_p99_ms": round(_percentile(read_ms, 0.99), 2),
        }
    return result


def _generator(port: int, token: str, customer: str, rate: float, seconds: float, mode: str, out: Any) -> None:
    """Runs in its own process so the generator's CPU is not the server's; reports its own CPU time."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = asyncio.run(_drive(port, token, customer, rate, seconds, mode))
    after = resource.getrusage(resource.RUSAGE_SELF)
    result["generator_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    out.put(result)


# ------------------------------------------------------------------------------------------------ CPU accounting


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (all cores) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / _TICKS


def _backends(database: str) -> list[int]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return [int(row[0]) for row in rows]


class _CpuMeter:
    """CPU seconds used by the server tree, the database's backends and the whole machine between two points."""

    def __init__(self, server_pid: int, database: str) -> None:
        self.server_pid, self.database = server_pid, database

    def snapshot(self) -> dict[str, Any]:
        server = {pid: _proc_cpu(pid) for pid in _descendants(self.server_pid)}
        backends = {pid: _proc_cpu(pid) for pid in _backends(self.database)}
        return {"server": server, "backends": backends, "machine": _machine_cpu(), "at": time.monotonic()}

    @staticmethod
    def spent(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
        def delta(group: str) -> float:
            return sum(value - before[group].get(pid, 0.0) for pid, value in after[group].items())

        busiest = max((value - before["server"].get(pid, 0.0) for pid, value in after["server"].items()), default=0.0)
        return {
            "server_cpu_s": delta("server"),
            "busiest_server_process_cpu_s": busiest,
            "postgres_cpu_s": delta("backends"),
            "machine_cpu_s": after["machine"] - before["machine"],
            "wall_s": after["at"] - before["at"],
        }


# ------------------------------------------------------------------------------------------------ phases


def _run_phase(
    port: int,
    token: str,
    customer: str,
    rate: float,
    seconds: float,
    mode: str,
    meter: _CpuMeter,
    profile: tuple[str, Path] | None = None,
) -> dict[str, Any]:
    queue: multiprocessing.Queue[dict[str, Any]] = multiprocessing.Queue()
    process = multiprocessing.Process(target=_generator, args=(port, token, customer, rate, seconds, mode, queue))
    before = meter.snapshot()
    spy: subprocess.Popen[bytes] | None = None
    if profile is not None:
        binary, output = profile
        duration = str(max(1, int(seconds) - 1))
        # --gil: only samples holding the GIL, i.e. where the server's CPU goes (waiting is in the latencies).
        spy_args = ["record", "--pid", str(meter.server_pid), "--subprocesses", "--gil", "--rate", "200"]
        spy_args += ["--duration", duration, "--format", "raw", "--output", str(output)]
        spy = subprocess.Popen(
            [binary, *spy_args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    process.start()
    result = queue.get(timeout=seconds * 10 + 120)
    process.join()
    after = meter.snapshot()
    if spy is not None:
        spy.wait(timeout=60)
    spent = meter.spent(before, after)
    ops = max(1, int(result["ops"]))
    generator = float(result.pop("generator_cpu_s"))
    others = spent["machine_cpu_s"] - spent["server_cpu_s"] - spent["postgres_cpu_s"] - generator
    result["cpu"] = {
        "server_cores": round(spent["server_cpu_s"] / spent["wall_s"], 2),
        # One process holds one core at most (the GIL): near 1.0 here, that worker is the bottleneck.
        "busiest_server_process_cores": round(spent["busiest_server_process_cpu_s"] / spent["wall_s"], 2),
        "server_ms_per_op": round(1000 * spent["server_cpu_s"] / ops, 2),
        "postgres_ms_per_op": round(1000 * spent["postgres_cpu_s"] / ops, 2),
        "generator_ms_per_op": round(1000 * generator / ops, 2),
        "machine_busy_cores": round(spent["machine_cpu_s"] / spent["wall_s"], 2),
        "others_cores": round(max(0.0, others) / spent["wall_s"], 2),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="25,50,100", help="operations (create + read) per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="`casevault serve --workers`")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy raw profiles as PREFIX-RATE.txt")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy", help="py-spy binary for --profile")
    parser.add_argument("--server-env", action="append", default=[], help="NAME=VALUE for the server only")
    parser.add_argument("--output", type=Path, default=None, help="write the JSON result here")
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]

    database = f"cv_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{database}"
    workdir = Path(tempfile.mkdtemp(prefix="cv-bench-"))
    server: subprocess.Popen[bytes] | None = None
    phases: list[dict[str, Any]] = []
    loadavg_before = os.getloadavg()
    try:
        token, customer, serving_url = _setup(workdir / "data", url)
        port = _free_port()
        extra_env = dict(item.split("=", 1) for item in args.server_env)
        command = [sys.executable, "-m", "casevault", "serve", "--data-dir", str(workdir / "data")]
        server = subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(args.workers)],
            env={**os.environ, "CASEVAULT_DATABASE_URL": serving_url, **extra_env},
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "server.log").open("wb"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        meter = _CpuMeter(server.pid, database)
        _run_phase(port, token, customer, min(rates), args.warmup, "create_then_read", meter)
        top = max(rates)
        phases.append(_run_phase(port, token, customer, 2 * top, args.seconds, "anchor", meter))
        for rate in rates:
            time.sleep(2)
            profile = (args.py_spy, Path(f"{args.profile}-{rate:g}.txt")) if args.profile else None
            phases.append(_run_phase(port, token, customer, rate, args.seconds, "create_then_read", meter, profile))
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
        shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "loadavg_before": loadavg_before,
            "loadavg_after": os.getloadavg(),
            "python": platform.python_version(),
        },
        "server": f"casevault serve --workers {args.workers} on PostgreSQL 127.0.0.1 as {SERVING_ROLE} (casevault_app)",
        "load_tool": "open-loop generator on raw asyncio streams (HTTP/1.1 keep-alive) in a separate process",
        "phases": phases,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
