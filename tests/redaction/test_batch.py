"""`detect_batch`/`redact_batch` scan many texts recognizer by recognizer: same results, same fail-closed rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casevault.redaction import RedactionFailed, Redactor, RedactorConfig, Tokenize
from casevault.redaction.bulk import BulkOptions, Shard
from casevault.redaction.bulk import runner as bulk_runner
from casevault.redaction.recognizers import Doc, Found

TEXTS = [
    "Hi Sarah, mail john.smith@contoso.com or call +1 415-555-0132. Card 4111 1111 1111 1111.",
    "Bonjour, je suis Marie Dubois, tél 01 55 66 90 74, IBAN FR76 3000 6000 0112 3456 7890 189.",
    "fullwidth ｊｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ and zero\u200bwidth jo\u200bhn@contoso.com, login from 198.51.100[.]7",
    "",
    "nothing to see here, order 12345-678 version 10.0.19045",
    "Ich wohne in der Hauptstraße 12, 10115 Berlin; Handy 0151 23456789. Grüße, Jürgen Schmidt",
]


class ExplodingOn:
    """Fails on texts containing a marker, like a recognizer hitting a bug on one hostile record."""

    name = "exploding_on"
    entities = frozenset({"PERSON"})

    def find(self, doc: Doc) -> list[Found]:
        if "BOOM" in doc.text:
            raise ValueError("bad input")
        return []


def test_detect_batch_equals_detect_text_by_text(redactor: Redactor) -> None:
    texts = TEXTS * 60  # more than one internal group of texts
    assert redactor.detect_batch(texts) == [redactor.detect(text) for text in texts]


def test_redact_batch_equals_redact_tokens_included(redactor: Redactor) -> None:
    operator = Tokenize(b"k" * 32)
    batch = redactor.redact_batch(TEXTS, operator=operator)
    single = [redactor.redact(text, operator=operator) for text in TEXTS]
    assert [(r.text, r.spans, r.tokens) for r in batch] == [(r.text, r.spans, r.tokens) for r in single]
    assert "john.smith@contoso.com" not in batch[0].text


def test_a_failure_on_one_text_fails_the_whole_batch_closed() -> None:
    redactor = Redactor(extra_recognizers=[ExplodingOn()])
    with pytest.raises(RedactionFailed) as caught:
        redactor.redact_batch([*TEXTS, "secret BOOM jane.doe@contoso.com"])
    assert caught.value.recognizer == "exploding_on"
    assert "jane" not in str(caught.value)


def test_a_batch_over_its_time_budget_fails_closed() -> None:
    class Slow:
        name = "slow"
        entities = frozenset({"PERSON"})

        def find(self, doc: Doc) -> list[Found]:
            import time

            time.sleep(0.01)
            return []

    config = RedactorConfig(time_budget_seconds=0.001, time_budget_seconds_per_mb=0.0)
    with pytest.raises(RedactionFailed, match="time budget"):
        Redactor(config, extra_recognizers=[Slow()]).detect_batch(TEXTS)


def test_each_text_in_a_batch_keeps_its_own_time_budget() -> None:
    class SlowOnMarker:
        name = "slow_on_marker"
        entities = frozenset({"PERSON"})

        def find(self, doc: Doc) -> list[Found]:
            import time

            if "SLOW" in doc.text:
                time.sleep(0.08)
            return []

    config = RedactorConfig(time_budget_seconds=0.05, time_budget_seconds_per_mb=0.0)
    redactor = Redactor(config, extra_recognizers=[SlowOnMarker()])
    texts = ["plain text"] * 99
    assert redactor.detect_batch(texts) == [[] for _ in texts]
    # Together the batch has 5 s of budget; the slow text alone has 0.05 s and must fail closed.
    with pytest.raises(RedactionFailed, match="time budget"):
        redactor.detect_batch([*texts, "a SLOW one"])


def test_bulk_withholds_only_the_failing_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "cases.jsonl"
    records = [{"id": 1, "body": TEXTS[0]}, {"id": 2, "body": "secret BOOM jane.doe@contoso.com"}]
    source.write_text("".join(json.dumps(record) + "\n" for record in records))
    (tmp_path / "out" / "parts").mkdir(parents=True)
    for folder in ("rejects", "stats"):
        (tmp_path / "out" / folder).mkdir()
    monkeypatch.setitem(bulk_runner._WORKER, "redactor", Redactor(extra_recognizers=[ExplodingOn()]))
    options = BulkOptions(input=source, output=tmp_path / "out", format="jsonl", fields=("body",))
    stats = bulk_runner.process_shard(options, Shard(0, 0, source.stat().st_size, 1), [])
    written = [json.loads(line) for line in (tmp_path / "out" / "parts" / "part-00000.jsonl").read_text().splitlines()]
    assert written[0]["body"].startswith("Hi <PERSON>, mail <EMAIL_ADDRESS>")
    assert written[1] == {"id": 2, "body": bulk_runner.WITHHELD}
    assert stats["withheld"] == 1


def test_span_chunks_cover_every_match_across_chunk_boundaries() -> None:
    from casevault.redaction.recognizers.names import _RUN

    for text in ("Anna, " * 9000, "Åsa, " * 9000):  # ASCII and non-ASCII paths, both over 2 x 4,096 runs
        doc = Doc(text)
        chunks = list(doc.span_chunks(_RUN))
        assert len(chunks) == 3
        assert [span for chunk in chunks for span in chunk] == list(doc.spans(_RUN))
        assert sum(len(chunk) for chunk in chunks) == 9000
