"""Per-entity precision / recall / F1 of the redactor on a labelled corpus (exact and overlap matching).

Usage: .venv/bin/python -m benchmarks.redaction.evaluate benchmarks/out/corpus.jsonl [--presidio preds.json]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from casevault.redaction import Redactor

Labelled = tuple[int, int, str]
# Presidio types that answer the same question as one of ours.
PRESIDIO_TYPES = {"LOCATION": "LOCATION", "PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL_ADDRESS"}


def load_corpus(path: Path) -> list[dict[str, object]]:
    """Rows of the JSONL corpus."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def score(gold: Sequence[Sequence[Labelled]], predicted: Sequence[Sequence[Labelled]]) -> dict[str, dict[str, float]]:
    """Counts and P/R/F1 per entity type plus `_micro`, for exact and overlap matching."""
    counts: dict[str, Counter[str]] = {}
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        for mode in ("exact", "overlap"):
            matched_predictions: set[int] = set()
            for start, end, entity in gold_spans:
                bucket = counts.setdefault(entity, Counter())
                hit = None
                for index, (p_start, p_end, p_entity) in enumerate(predicted_spans):
                    if p_entity != entity or index in matched_predictions:
                        continue
                    if (mode == "exact" and (p_start, p_end) == (start, end)) or (
                        mode == "overlap" and p_start < end and start < p_end
                    ):
                        hit = index
                        break
                if hit is None:
                    bucket[f"{mode}_fn"] += 1
                else:
                    matched_predictions.add(hit)
                    bucket[f"{mode}_tp"] += 1
            for index, (_, _, p_entity) in enumerate(predicted_spans):
                if index not in matched_predictions:
                    counts.setdefault(p_entity, Counter())[f"{mode}_fp"] += 1
    totals: Counter[str] = Counter()
    for bucket in counts.values():
        totals.update(bucket)
    counts["_micro"] = totals
    report: dict[str, dict[str, float]] = {}
    for entity, bucket in sorted(counts.items()):
        row: dict[str, float] = {}
        for mode in ("exact", "overlap"):
            tp, fp, fn = bucket[f"{mode}_tp"], bucket[f"{mode}_fp"], bucket[f"{mode}_fn"]
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            row.update({f"{mode}_p": precision, f"{mode}_r": recall, f"{mode}_f1": f1})
        row["support"] = bucket["exact_tp"] + bucket["exact_fn"]
        report[entity] = row
    return report


def ours(rows: Sequence[dict[str, object]], redactor: Redactor | None = None) -> list[list[Labelled]]:
    """Our redactor's predictions for each row."""
    redactor = redactor or Redactor()
    return [[(s.start, s.end, s.entity_type) for s in redactor.detect(str(row["text"]))] for row in rows]


def gold_of(rows: Sequence[dict[str, object]]) -> list[list[Labelled]]:
    """The labelled spans of each row."""
    return [[(int(s[0]), int(s[1]), str(s[2])) for s in row["spans"]] for row in rows]  # type: ignore[attr-defined]


def format_table(title: str, report: dict[str, dict[str, float]]) -> str:
    """Markdown table of a `score` report."""
    lines = [
        f"**{title}**",
        "",
        "| entity | support | P exact | R exact | F1 exact | P overlap | R overlap | F1 overlap |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for entity, row in report.items():
        lines.append(
            f"| {entity} | {int(row['support'])} | {row['exact_p']:.3f} | {row['exact_r']:.3f} | {row['exact_f1']:.3f}"
            f" | {row['overlap_p']:.3f} | {row['overlap_r']:.3f} | {row['overlap_f1']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--show-errors", type=str, default="", help="entity type whose misses and false hits to print")
    args = parser.parse_args()
    rows = load_corpus(args.corpus)
    if args.limit:
        rows = rows[: args.limit]
    gold, predicted = gold_of(rows), ours(rows)
    print(format_table("casevault redactor", score(gold, predicted)))
    if args.show_errors:
        for row, gold_spans, predicted_spans in zip(rows, gold, predicted, strict=True):
            text = str(row["text"])
            g = {(s, e) for s, e, t in gold_spans if t == args.show_errors}
            p = {(s, e) for s, e, t in predicted_spans if t == args.show_errors}
            for s, e in sorted(g - p):
                print("MISS", repr(text[max(0, s - 25) : e + 15]), "->", repr(text[s:e]))
            for s, e in sorted(p - g):
                print("FALSE", repr(text[max(0, s - 25) : e + 15]), "->", repr(text[s:e]))


if __name__ == "__main__":
    main()
