"""Watch mode: re-scan files and probes on an interval or on file change; report only what changed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from casevault.exposure.findings import Finding
from casevault.exposure.probes import ProbeKind, probe
from casevault.exposure.scanner import Scanner, iter_files


@dataclass(frozen=True)
class ProbeSpec:
    """A probe target and, optionally, the kind to speak."""

    target: str
    kind: ProbeKind | None = None


@dataclass
class Change:
    """Findings that appeared and findings that went away between two scans."""

    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)


def collect(scanner: Scanner, paths: Sequence[Path], probes: Sequence[ProbeSpec], timeout: float) -> list[Finding]:
    """One full pass: file findings plus live probe findings."""
    findings = list(scanner.scan(paths).findings) if paths else []
    for spec in probes:
        findings.extend(probe(spec.target, spec.kind, timeout=timeout).findings)
    return findings


def diff(previous: dict[str, Finding], current: Iterable[Finding]) -> tuple[Change, dict[str, Finding]]:
    """Compare by fingerprint; return the change and the new state."""
    state = {finding.fingerprint: finding for finding in current}
    change = Change(
        new=[finding for key, finding in state.items() if key not in previous],
        resolved=[finding for key, finding in previous.items() if key not in state],
    )
    return change, state


def event_lines(change: Change, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """JSON-ready events, one per new or resolved finding."""
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    events = [{"event": "new", "at": stamp, "finding": finding.to_dict()} for finding in change.new]
    events += [{"event": "resolved", "at": stamp, "finding": finding.to_dict()} for finding in change.resolved]
    return events


class Webhook:
    """POSTs events as JSON; a timeout on every request, redirects not followed, failures reported not raised."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("webhook URL must start with http:// or https://")
        self._url = url
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=True)

    def send(self, events: list[dict[str, Any]]) -> bool:
        """Deliver one batch; True when the receiver answered 2xx."""
        try:
            response = self._client.post(self._url, json={"source": "casevault-exposure", "events": events})
        except httpx.HTTPError:
            return False
        return response.is_success

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


def _snapshot(paths: Sequence[Path]) -> dict[str, float]:
    snapshot: dict[str, float] = {}
    for path in iter_files(paths):
        try:
            snapshot[str(path)] = os.stat(path).st_mtime
        except OSError:
            continue
    return snapshot


def watch(
    paths: Sequence[Path],
    probes: Sequence[ProbeSpec],
    *,
    interval: float,
    emit: Callable[[list[dict[str, Any]]], None],
    scanner: Scanner | None = None,
    timeout: float = 3.0,
    max_cycles: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Scan now, then again every `interval` seconds or as soon as a watched file changes.

    The first pass reports every current finding as new; later passes report only differences.
    """
    scanner = scanner or Scanner()
    state: dict[str, Finding] = {}
    cycles = 0
    poll = min(1.0, interval)
    while max_cycles is None or cycles < max_cycles:
        snapshot = _snapshot(paths)
        change, state = diff(state, collect(scanner, paths, probes, timeout))
        cycles += 1
        events = event_lines(change)
        if events:
            emit(events)
        if max_cycles is not None and cycles >= max_cycles:
            break
        deadline = clock() + interval
        while clock() < deadline:
            sleep(min(poll, max(0.0, deadline - clock())))
            if paths and _snapshot(paths) != snapshot:
                break


def json_lines_emitter(*streams: TextIO, webhook: Webhook | None = None) -> Callable[[list[dict[str, Any]]], None]:
    """An emitter writing one JSON object per line to each stream and POSTing the batch to a webhook."""

    def emit(events: list[dict[str, Any]]) -> None:
        for stream in streams:
            for event in events:
                stream.write(json.dumps(event, sort_keys=True) + "\n")
            stream.flush()
        if webhook is not None:
            webhook.send(events)

    return emit
