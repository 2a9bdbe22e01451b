"""Helpers shared by the exposure tests: free loopback ports, waiting for a port, memcached processes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, deadline: float = 20.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port, or fail."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listening on 127.0.0.1:{port} after {deadline}s")


def start_memcached(port: int, *extra: str) -> subprocess.Popen[bytes]:
    """Start the Debian memcached binary on 127.0.0.1:port (the caller terminates it)."""
    binary = shutil.which("memcached")
    if binary is None:
        pytest.fail("memcached is not installed; run scripts/install-system-deps.sh")
    process = subprocess.Popen(
        [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-u", "nobody", "-m", "16", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process this test started, by its own handle."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
