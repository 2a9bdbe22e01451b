"""Fixtures for the exposure tests: free loopback ports and memcached servers started per test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest
from exposure_helpers import free_port, start_memcached, stop


@pytest.fixture
def memcached() -> Iterator[int]:
    """A real memcached on a free loopback port; yields the port."""
    port = free_port()
    process = start_memcached(port)
    yield port
    stop(process)


@pytest.fixture
def port_factory() -> Callable[[], int]:
    """Hands out free loopback ports."""
    return free_port


@pytest.fixture
def memcached_factory() -> Iterator[Callable[[int], subprocess.Popen[bytes]]]:
    """Starts memcached processes on demand and stops every one of them after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> subprocess.Popen[bytes]:
        process = start_memcached(port)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            stop(process)
