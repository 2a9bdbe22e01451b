"""Accuracy and throughput of the casevault redactor against Presidio + spaCy small, in one run.

Usage (from the repository root):
  bash benchmarks/redaction/setup_presidio_venv.sh        # once: side venv with the anchor
  .venv/bin/python -m benchmarks.redaction.run_bench --count 2000 --presidio-count 200
Writes benchmarks/out/redaction-bench.json and prints Markdown for docs/bench/redaction.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.redaction.corpus import generate
from benchmarks.redaction.evaluate import format_table, gold_of, score

from casevault.redaction import Redactor, ReplaceWithType, _native
from casevault.redaction.recognizers.phone import _valid_somewhere

ROOT = Path(__file__).resolve().parents[2]
PRESIDIO_PYTHON = ROOT / "benchmarks" / ".venv-presidio" / "bin" / "python"
PRESIDIO_TYPES = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "URL", "PERSON",
    "LOCATION", "CRYPTO",
}  # fmt: skip
_WORKER: dict[str, Redactor] = {}


def _fresh_redactor(warm: list[str]) -> Redactor:
    """A new redactor warmed on other tickets: no memo from a previous pass over the measured corpus.

    The phone validation cache and the name-run plans are per process; measuring the same 2,000 tickets again
    with them filled would flatter every pass after the first. A real job has seen other tickets before, hence
    the warm-up on a differently seeded corpus.
    """
    _valid_somewhere.cache_clear()
    redactor = Redactor()
    for text in warm:
        redactor.detect(text)
    return redactor


def _ours_pass(warm: list[str], texts: list[str]) -> float:
    """CPU seconds to detect and redact every text once, one call per text (`redact`, the library API)."""
    redactor = _fresh_redactor(warm)
    operator = ReplaceWithType()
    began = time.process_time()
    for text in texts:
        redactor.redact(text, operator=operator)
    return time.process_time() - began


def _ours_batch_pass(warm: list[str], texts: list[str]) -> float:
    """CPU seconds for the same work through `redact_batch`, the path the bulk CLI and Spark job use."""
    redactor = _fresh_redactor(warm)
    began = time.process_time()
    redactor.redact_batch(texts, operator=ReplaceWithType())
    return time.process_time() - began


def _init_worker(warm: list[str]) -> None:
    _WORKER["redactor"] = _fresh_redactor(warm)
    gc.freeze()  # as the bulk CLI's workers do (ADR 0106)


def _work(texts: list[str]) -> tuple[int, float]:
    """Spans found in one batch and the CPU seconds the worker spent on it."""
    began = time.process_time()
    spans = sum(len(result.spans) for result in _WORKER["redactor"].redact_batch(texts))
    return spans, time.process_time() - began


def _two_workers(texts: list[str], warm: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock tickets/s of 2 processes, each redacting batches of 256 texts (as the bulk CLI does), and the
    CPU seconds the two spent on each pass (on a machine shared with other jobs the wall figure also shows how
    much CPU the workers got; tickets per worker CPU-second do not depend on that).

    A new pair of worker processes for every pass, so no pass finds the corpus already in their caches. `texts`
    is its own, larger corpus (`--worker-count`): with 2,000 tickets a pass was ~0.3 s and 8 batches, so
    process wake-up and the last batch weighed on the figure more than the engine did.
    """
    rates, cpu = [], []
    batches = [texts[first : first + 256] for first in range(0, len(texts), 256)]
    for _ in range(repeats):
        with multiprocessing.get_context("fork").Pool(2, initializer=_init_worker, initargs=(warm,)) as pool:
            pool.map(_work, [warm[:50], warm[50:100]], chunksize=1)
            began = time.perf_counter()
            done = pool.map(_work, batches, chunksize=1)
            rates.append(len(texts) / (time.perf_counter() - began))
            cpu.append(sum(seconds for _spans, seconds in done))
    return rates, cpu


def _presidio(corpus_path: Path, count: int) -> dict[str, Any] | None:
    if not PRESIDIO_PYTHON.exists():
        print("Presidio side venv missing: run benchmarks/redaction/setup_presidio_venv.sh", file=sys.stderr)
        return None
    env = {**os.environ, "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": ""}
    runner = ROOT / "benchmarks" / "redaction" / "presidio_runner.py"
    completed = subprocess.run(
        [str(PRESIDIO_PYTHON), str(runner), str(corpus_path), str(count)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return dict(json.loads(completed.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--presidio-count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker-count", type=int, default=8192, help="tickets (another seed) for the 2 workers")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = generate(args.count, args.seed)
    warm_rows = generate(300, args.seed + 1000)
    corpus_path = args.out / "redaction-corpus.jsonl"
    with corpus_path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    texts = [str(row["text"]) for row in rows]
    warm = [str(row["text"]) for row in warm_rows]
    mean_chars = statistics.mean(len(text) for text in texts)

    cpu_single = [_ours_pass(warm, texts) for _ in range(args.repeats)]
    single_rate = len(texts) / statistics.median(cpu_single)
    cpu = [_ours_batch_pass(warm, texts) for _ in range(args.repeats)]
    ours_rate = len(texts) / statistics.median(cpu)
    worker_texts = [str(row["text"]) for row in generate(args.worker_count, args.seed + 2000)]
    two, two_cpu = _two_workers(worker_texts, warm, args.repeats)
    two_per_cpu = len(worker_texts) / statistics.median(two_cpu)
    gold = gold_of(rows)
    redactor = _fresh_redactor(warm)
    batch_spans = redactor.detect_batch(texts)
    if batch_spans != [redactor.detect(text) for text in texts]:
        raise SystemExit("detect_batch and detect disagree: the batch path is broken")
    predicted = [[(s.start, s.end, s.entity_type) for s in spans] for spans in batch_spans]
    ours_report = score(gold, predicted)

    presidio = _presidio(corpus_path, args.presidio_count)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"nproc": os.cpu_count(), "load": os.getloadavg(), "python": platform.python_version()},
        "tickets": len(texts),
        "mean_chars": round(mean_chars),
        "ours_cpu_seconds_redact_per_text": cpu_single,
        "ours_tickets_per_cpu_second_redact_per_text": round(single_rate),
        "ours_cpu_seconds": cpu,
        "ours_tickets_per_cpu_second": round(ours_rate),
        "ours_two_workers_tickets": len(worker_texts),
        "ours_two_workers_tickets_per_second": [round(rate) for rate in two],
        "ours_two_workers_cpu_seconds": two_cpu,
        "ours_two_workers_tickets_per_worker_cpu_second": round(two_per_cpu),
        "ours_report": ours_report,
    }
    native = _native.status()
    results["compiled_modules"] = len(native.compiled)
    results["compiled_reason"] = native.reason
    print(f"corpus: {len(texts)} tickets, mean {mean_chars:.0f} chars; load {os.getloadavg()}")
    print(f"compiled redaction modules (ADR 0105): {len(native.compiled)} of {len(_native.COMPILED)}", end="")
    print(f" ({native.reason})" if native.reason else "")
    print(f"casevault, 1 process, redact_batch: {ours_rate:,.0f} tickets/CPU-s (median of {args.repeats})")
    print(f"casevault, 1 process, redact per text: {single_rate:,.0f} tickets/CPU-s (median of {args.repeats})")
    print(
        f"casevault, 2 workers, {len(worker_texts)} tickets (seed {args.seed + 2000}) in batches of 256: "
        f"{statistics.median(two):,.0f} tickets/s wall (median of {args.repeats})"
    )
    print(
        f"casevault, 2 workers: {two_per_cpu:,.0f} tickets per worker CPU-second (median of {args.repeats}), "
        f"so at most {2 * two_per_cpu:,.0f} tickets/s if each worker had a core to itself at that rate"
    )
    print(format_table("casevault redactor, full corpus", ours_report))
    if presidio is not None:
        subset = slice(0, presidio["tickets"])
        presidio_rate = presidio["tickets"] / statistics.median(presidio["cpu_seconds"])
        presidio_predictions = [[(s, e, t) for s, e, t, _ in spans] for spans in presidio["predictions"]]
        as_is = score(gold[subset], presidio_predictions)
        shared_gold = [[g for g in spans if g[2] in PRESIDIO_TYPES] for spans in gold[subset]]
        shared_presidio = [[p for p in spans if p[2] in PRESIDIO_TYPES] for spans in presidio_predictions]
        shared_ours = [[p for p in spans if p[2] in PRESIDIO_TYPES] for spans in predicted[subset]]
        ours_subset = score(gold[subset], predicted[subset])
        results.update(
            {
                "presidio_cpu_seconds": presidio["cpu_seconds"],
                "presidio_tickets": presidio["tickets"],
                "presidio_tickets_per_cpu_second": round(presidio_rate, 1),
                "ratio_single_process": round(ours_rate / presidio_rate, 1),
                "ratio_single_process_redact_per_text": round(single_rate / presidio_rate, 1),
                "presidio_report_as_is": as_is,
                "presidio_report_shared_types": score(shared_gold, shared_presidio),
                "ours_report_subset": ours_subset,
                "ours_report_subset_shared_types": score(shared_gold, shared_ours),
            }
        )
        print(f"presidio+spaCy sm: {presidio_rate:,.1f} tickets/CPU-s on {presidio['tickets']} tickets")
        print(f"ratio (1 process, CPU, redact_batch): {ours_rate / presidio_rate:,.0f}x")
        print(f"ratio (1 process, CPU, redact per text): {single_rate / presidio_rate:,.0f}x")
        print(format_table("presidio, same subset, all its predictions", as_is))
        print(format_table("presidio, same subset, shared entity types only", results["presidio_report_shared_types"]))
        print(format_table("casevault, same subset", ours_subset))
    (args.out / "redaction-bench.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
