"""Watch mode: a store that appears mid-watch is reported (real memcached), files changes are picked up,
and events reach a loopback webhook."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from casevault.exposure import ProbeKind, ProbeSpec, Scanner, watch

FIXTURES = Path(__file__).parent / "fixtures"
DEADLINE = 60.0


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP server that records every JSON body POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _reader(stream: Any, lines: queue.Queue[dict[str, Any]]) -> None:
    for raw in stream:
        text = raw.strip()
        if text.startswith("{"):
            lines.put(json.loads(text))


def _next_event(lines: queue.Queue[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        try:
            event = lines.get(timeout=max(0.1, end - time.monotonic()))
        except queue.Empty:
            break
        if predicate(event):
            return event
    raise AssertionError(f"no matching event within {DEADLINE}s")


def test_store_started_mid_watch_is_reported(
    tmp_path: Path,
    port_factory: Callable[[], int],
    memcached_factory: Callable[[int], subprocess.Popen[bytes]],
) -> None:
    port = port_factory()
    events_file = tmp_path / "events.jsonl"
    shutil.copytree(FIXTURES / "pos" / "redis-open", tmp_path / "configs")
    with webhook_receiver() as (hook_url, posted):
        command = [
            sys.executable, "-m", "casevault", "scan", str(tmp_path / "configs"),
            "--watch", "--interval", "1", "--timeout", "1",
            "--probe", f"127.0.0.1:{port}", "--probe-kind", "memcached",
            "--webhook", hook_url, "--events-file", str(events_file),
        ]  # fmt: skip
        watcher = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: queue.Queue[dict[str, Any]] = queue.Queue()
        reader = threading.Thread(target=_reader, args=(watcher.stdout, lines), daemon=True)
        reader.start()
        try:
            # the first pass reports what is already there: the redis.conf findings, nothing on the port
            first = _next_event(lines, lambda e: e["finding"]["check_id"] == "CV-RD-001")
            assert first["event"] == "new"
            memcached = memcached_factory(port)
            appeared = _next_event(lines, lambda e: e["finding"]["check_id"] == "CV-PR-002")
            assert appeared["event"] == "new"
            assert appeared["finding"]["target"] == f"127.0.0.1:{port}"
            memcached.terminate()
            memcached.wait(timeout=10)
            gone = _next_event(lines, lambda e: e["finding"]["check_id"] == "CV-PR-002")
            assert gone["event"] == "resolved"
            # stdout is written before the webhook POST: give the POST its own deadline
            end = time.monotonic() + DEADLINE
            while time.monotonic() < end and not any(
                e["event"] == "resolved" for body in posted for e in body["events"]
            ):
                time.sleep(0.05)
        finally:
            watcher.terminate()
            watcher.wait(timeout=10)
            reader.join(timeout=10)
            if watcher.stdout is not None:
                watcher.stdout.close()
        posted_checks = [(e["event"], e["finding"]["check_id"]) for body in posted for e in body["events"]]
        assert ("new", "CV-PR-002") in posted_checks
        assert ("resolved", "CV-PR-002") in posted_checks
        # the redis.conf findings were reported once, not on every pass
        assert posted_checks.count(("new", "CV-RD-001")) == 1
    written = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert ("new", "CV-PR-002") in [(e["event"], e["finding"]["check_id"]) for e in written]


def test_file_change_triggers_a_rescan_before_the_interval(tmp_path: Path) -> None:
    config = tmp_path / "redis.conf"
    config.write_text("bind 127.0.0.1\nrequirepass long-enough-password\n")
    batches: list[list[dict[str, Any]]] = []
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            config.write_text("bind 0.0.0.0\nprotected-mode no\n")
            # mtime resolution can be coarse; make sure the change is visible
            stamp = config.stat().st_mtime + 5
            import os

            os.utime(config, (stamp, stamp))

    watch(
        [tmp_path],
        [],
        interval=3600,
        emit=batches.append,
        scanner=Scanner(base=tmp_path),
        max_cycles=2,
        sleep=fake_sleep,
    )
    assert len(sleeps) == 1  # the change cut the hour-long wait short
    assert len(batches) == 1
    assert {(e["event"], e["finding"]["check_id"]) for e in batches[0]} == {("new", "CV-RD-001"), ("new", "CV-RD-002")}


def test_probe_spec_kind_is_used() -> None:
    spec = ProbeSpec("127.0.0.1:6379", ProbeKind.REDIS)
    batches: list[list[dict[str, Any]]] = []
    watch([], [spec], interval=1, emit=batches.append, max_cycles=1)
    assert [e["finding"]["check_id"] for e in batches[0]] == ["CV-PR-001"]
