"""Policy decision latency: the shared PolicyEngine on a realistic per-request entity set, against re-parsing.

Run: .venv/bin/python benchmarks/access/bench_policy.py [--decisions 20000]

Each decision builds the request's entities (the principal with its queue memberships, the resource) from
plain facts and asks Cedar, exactly as the access functions do. The anchor, measured in the same run, is the
naive use of cedarpy: passing the policy text and schema text on every call (parsed each time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import uuid
from pathlib import Path

import cedarpy

from casevault.access import Permission, Role
from casevault.access.policy import (
    PLATFORM,
    POLICY_DIR,
    AccessGrantFacts,
    CaseFacts,
    QueueRef,
    RequestFacts,
    StaffFacts,
    shared_engine,
)


def workload() -> list[tuple[StaffFacts, Permission, object, RequestFacts]]:
    """A request mix: mostly case reads (allowed and denied), reveals, exports, grants, platform actions."""
    queues = [uuid.uuid4() for _ in range(12)]
    agent = StaffFacts(uuid.uuid4(), Role.AGENT, queues=frozenset(queues[:3]))
    supervisor = StaffFacts(
        uuid.uuid4(), Role.SUPERVISOR, queues=frozenset(queues[:6]), supervises=frozenset(queues[:6])
    )
    officer = StaffFacts(uuid.uuid4(), Role.SECURITY_OFFICER)
    other = uuid.uuid4()

    def case(queue: uuid.UUID, assignee: uuid.UUID | None) -> CaseFacts:
        return CaseFacts(uuid.uuid4(), queue, uuid.uuid4(), assignee)

    plain, reveal = RequestFacts(), RequestFacts(step_up=True, reason=True)
    return [
        (agent, Permission.CASE_READ, case(queues[0], agent.staff_id), plain),
        (agent, Permission.CASE_READ, case(queues[1], None), plain),
        (agent, Permission.CASE_READ, case(queues[7], other), plain),
        (agent, Permission.CUSTOMER_READ, case(queues[0], agent.staff_id), plain),
        (agent, Permission.CASE_REVEAL, case(queues[0], agent.staff_id), reveal),
        (agent, Permission.CASE_EXPORT, QueueRef(queues[0]), plain),
        (agent, Permission.CASE_READ, case(queues[9], other), RequestFacts(grant=True)),
        (supervisor, Permission.CASE_READ, case(queues[4], other), plain),
        (supervisor, Permission.GRANT_APPROVE, AccessGrantFacts(uuid.uuid4(), agent.staff_id, queues[4]), plain),
        (officer, Permission.AUDIT_READ, PLATFORM, plain),
        (officer, Permission.CASE_READ, case(queues[0], other), plain),
    ]


def measure(decisions: int) -> dict[str, object]:
    engine = shared_engine()
    requests = workload()
    for principal, action, resource, context in requests * 50:  # warm-up
        engine.authorize(principal, action, resource, context)  # type: ignore[arg-type]
    samples: list[float] = []
    cpu: list[float] = []
    allowed = 0
    for index in range(decisions):
        principal, action, resource, context = requests[index % len(requests)]
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        decision = engine.authorize(principal, action, resource, context)  # type: ignore[arg-type]
        cpu.append((time.thread_time_ns() - start_cpu) / 1000)
        samples.append((time.perf_counter_ns() - start) / 1000)
        allowed += bool(decision)
    samples.sort()
    cpu.sort()

    # A list view: one principal, 50 cases, decided in one batch call.
    page = [CaseFacts(uuid.uuid4(), queue, uuid.uuid4(), None) for queue in [*sorted(requests[0][0].queues)] * 17][:50]
    batch: list[float] = []
    batch_cpu: list[float] = []
    for _ in range(max(100, decisions // 200)):
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        engine.evaluate_each(requests[0][0], Permission.CASE_READ, page)
        batch_cpu.append((time.thread_time_ns() - start_cpu) / 1000 / len(page))
        batch.append((time.perf_counter_ns() - start) / 1000 / len(page))

    # Anchor: the policy and schema text handed to cedarpy on every call (parsed each time).
    policy_text = "\n".join(path.read_text() for path in sorted(POLICY_DIR.glob("*.cedar")))
    schema_text = (POLICY_DIR / "casevault.cedarschema").read_text()
    agent = requests[0][0]
    naive_request = {
        "principal": f'Staff::"{agent.staff_id}"',
        "action": 'Action::"case:read"',
        "resource": 'Case::"c"',
        "context": json.loads(RequestFacts().as_json()),
    }
    entities = [
        {
            "uid": {"type": "Staff", "id": str(agent.staff_id)},
            "attrs": {"role": "agent", "suspended": False, "queues": [], "supervises": []},
            "parents": [],
        },
        {
            "uid": {"type": "Case", "id": "c"},
            "attrs": {
                "queue": {"__entity": {"type": "Queue", "id": "q"}},
                "customer": {"__entity": {"type": "Customer", "id": "u"}},
                "assignee": {"__entity": {"type": "Staff", "id": str(agent.staff_id)}},
            },
            "parents": [],
        },
    ]
    naive: list[float] = []
    for _ in range(200):
        start = time.perf_counter_ns()
        cedarpy.is_authorized(naive_request, policy_text, entities, schema_text)
        naive.append((time.perf_counter_ns() - start) / 1000)
    naive.sort()

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    return {
        "decisions": decisions,
        "allowed_share": round(allowed / decisions, 3),
        "policies": len(engine.policy_ids),
        "p50_us": round(statistics.median(samples), 1),
        "p90_us": round(pct(samples, 0.90), 1),
        "p99_us": round(pct(samples, 0.99), 1),
        "max_us": round(samples[-1], 1),
        # CPU time of this thread per decision: the cost of the decision itself, without the time the
        # scheduler gave the 2 shared cores to other processes.
        "cpu_p50_us": round(statistics.median(cpu), 1),
        "cpu_p99_us": round(pct(cpu, 0.99), 1),
        "list_of_50_per_case_p50_us": round(statistics.median(batch), 1),
        "list_of_50_per_case_cpu_p50_us": round(statistics.median(batch_cpu), 1),
        "reparse_each_call_p50_us": round(statistics.median(naive), 1),
        "speedup_vs_reparse": round(statistics.median(naive) / statistics.median(samples), 1),
        "python": platform.python_version(),
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args()
    result = measure(args.decisions)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
