"""Sign-in cost and enumeration timing: argon2id with production parameters, over the real ASGI app.

Run: .venv/bin/python benchmarks/identity/signin_timing.py [--rounds 25]
Prints medians for (a) one argon2id verification, (b) POST /auth/login with a wrong password for a real account,
(c) the same for an unknown account (dummy-hash path), and the ratio (c)/(b), which should be close to 1.
Each round uses fresh account names so the per-account backoff never kicks in; the address limit is raised.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from casevault.access.actor import Actor
from casevault.access.roles import Role
from casevault.app import create_app
from casevault.config import Settings
from casevault.crypto import Keyring, LocalKeyFile
from casevault.db import Database
from casevault.db.migrate import upgrade
from casevault.identity import IdentityContext, PasswordPolicy, Staff, SystemClock, set_password

PASSWORD = "violet-harbour-lantern-42"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=25)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        provider = LocalKeyFile.create(root / "keys" / "master.key")
        settings = Settings(data_dir=root, cookie_secure=False, signin_ip_failures_per_hour=10_000)
        db = Database(f"sqlite:///{root / 'casevault.db'}")
        upgrade(db)
        ctx = IdentityContext(settings=settings, keyring=Keyring(provider), clock=SystemClock())
        with db.unit_of_work() as session:
            for index in range(rounds):
                staff = Staff(username=f"agent{index}", display_name="Agent", role=Role.AGENT)
                session.add(staff)
                session.flush()
                set_password(session, staff, PASSWORD, ctx=ctx, actor=Actor.system("bench"))

        policy = PasswordPolicy.from_settings(settings)
        stored = policy.hash(PASSWORD)
        verify = []
        for _ in range(rounds):
            started = time.perf_counter()
            policy.verify(stored, PASSWORD)
            verify.append(time.perf_counter() - started)

        client = TestClient(create_app(settings, database=db, key_provider=provider), client=("127.0.0.1", 5000))
        known: list[float] = []
        unknown: list[float] = []
        for index in range(rounds):
            for username, bucket in ((f"agent{index}", known), (f"ghost{index}", unknown)):
                started = time.perf_counter()
                response = client.post("/api/v1/auth/login", json={"username": username, "password": "wrong-guess-99"})
                bucket.append(time.perf_counter() - started)
                assert response.status_code == 401, response.text
        db.dispose()

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    print(f"argon2id verify (t=3, m=64 MiB, p=4): median {ms(verify):.1f} ms over {rounds}")
    print(f"login, real account, wrong password:  median {ms(known):.1f} ms")
    print(f"login, unknown account:               median {ms(unknown):.1f} ms")
    print(f"ratio unknown/known: {ms(unknown) / ms(known):.3f}")


if __name__ == "__main__":
    main()
