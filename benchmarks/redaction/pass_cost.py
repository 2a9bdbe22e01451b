"""Cost of one `redact_batch` pass over the benchmark corpus, for comparing engine versions on a busy machine.

  # CPU time per pass (tickets per CPU-second), a new redactor warmed on 300 other tickets each time:
  .venv/bin/python -m benchmarks.redaction.pass_cost time --passes 3
  # instructions (load-independent): the setup alone, then setup + one pass; the pass is the difference
  PYTHONHASHSEED=0 valgrind --tool=callgrind .venv/bin/python -m benchmarks.redaction.pass_cost setup
  PYTHONHASHSEED=0 valgrind --tool=callgrind .venv/bin/python -m benchmarks.redaction.pass_cost pass
Set CASEVAULT_REDACTION_PURE_PYTHON=1 to measure the Python sources instead of the compiled modules (ADR 0105).
The corpus (seed 11, warm-up seed 1011, as run_bench) is cached in benchmarks/out/ so callgrind does not
spend its time in Faker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from casevault.redaction import Redactor, RedactorConfig, ReplaceWithType, _native
from casevault.redaction.recognizers.phone import _valid_somewhere

ROOT = Path(__file__).resolve().parents[2]


def _corpus(path: Path, count: int, seed: int) -> tuple[list[str], list[str]]:
    if not path.exists():
        from benchmarks.redaction.corpus import generate

        path.parent.mkdir(parents=True, exist_ok=True)
        texts = [str(row["text"]) for row in generate(count, seed)]
        warm = [str(row["text"]) for row in generate(300, seed + 1000)]
        path.write_text(json.dumps({"texts": texts, "warm": warm}))
    data = json.loads(path.read_text())
    return list(data["texts"]), list(data["warm"])


def _fresh_redactor(warm: list[str], budget: float) -> Redactor:
    _valid_somewhere.cache_clear()
    redactor = Redactor(RedactorConfig(time_budget_seconds=budget))
    for text in warm:
        redactor.detect(text)
    return redactor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("time", "setup", "pass"))
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    texts, warm = _corpus(
        ROOT / "benchmarks" / "out" / f"pass-cost-{args.seed}-{args.count}.json", args.count, args.seed
    )
    native = _native.status()
    label = f"compiled modules {len(native.compiled)}/{len(_native.COMPILED)}" + (
        f" ({native.reason})" if native.reason else ""
    )
    if args.mode != "time":
        # Under valgrind everything runs ~50x slower than the time budget assumes: without a larger budget the
        # run would fail closed (RedactionFailed) instead of being measured.
        redactor = _fresh_redactor(warm, budget=1e6)
        if args.mode == "pass":
            redactor.redact_batch(texts, operator=ReplaceWithType())
        print(f"{args.mode} done; {label}")
        return
    rates = []
    for _ in range(args.passes):
        redactor = _fresh_redactor(warm, budget=RedactorConfig().time_budget_seconds)
        began = time.process_time()
        redactor.redact_batch(texts, operator=ReplaceWithType())
        rates.append(len(texts) / (time.process_time() - began))
    print(
        f"redact_batch: {[round(rate) for rate in rates]} tickets/CPU-s, median {statistics.median(rates):,.0f}; "
        f"{label}; load {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()
