"""Exposure-scanner benchmark: files/s on a 10,000-file tree, Checkov as the anchor on the same fixtures,
and whether Checkov/Trivy flag the Azure NSG-to-9200 fixture.

Usage: .venv/bin/python benchmarks/exposure/bench.py [--runs 5] [--checkov-runs 3] [--subset 200]
Prerequisites: benchmarks/exposure/setup_checkov.sh (and optionally setup_trivy.sh) have been run.
Writes benchmarks/out/exposure-results.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "exposure"))

from generate import generate  # noqa: E402 - the generator lives beside this script

from casevault.exposure import scan_paths  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
TREE = OUT / "exposure-tree"
SUBSET = OUT / "exposure-subset"
NSG_FIXTURE = ROOT / "tests" / "exposure" / "fixtures" / "pos" / "azure-nsg-9200"
CHECKOV = ROOT / "benchmarks" / ".venv-checkov" / "bin" / "checkov"
TRIVY = ROOT / "benchmarks" / ".venv-trivy" / "bin" / "trivy"


def time_casevault(paths: list[Path], runs: int, workers: int) -> dict[str, Any]:
    walls: list[float] = []
    cpus: list[float] = []
    files = findings = 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = scan_paths(paths, workers=workers)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        files, findings = result.files_seen, len(result.findings)
    wall_median = statistics.median(walls)
    return {
        "files": files,
        "findings": findings,
        "workers": workers,
        "wall_median_s": round(wall_median, 3),
        "wall_all_s": [round(w, 3) for w in walls],
        "files_per_s": round(files / wall_median),
        # process_time covers this process only: with workers > 1 the children are not counted
        "cpu_median_s": round(statistics.median(cpus), 3) if workers == 1 else None,
        "files_per_cpu_s": round(files / statistics.median(cpus)) if workers == 1 else None,
    }


def build_subset(per_kind: int) -> dict[str, int]:
    """The same Terraform, Kubernetes and compose files for both tools."""
    if SUBSET.exists():
        shutil.rmtree(SUBSET)
    counts: dict[str, int] = {}
    for kind, pattern in (("terraform", "infra/*/*.tf"), ("kubernetes", "k8s/*/*.yaml"), ("compose", "apps/*/*.yml")):
        chosen = sorted(TREE.glob(pattern))[:per_kind]
        for path in chosen:
            target = SUBSET / path.relative_to(TREE)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        counts[kind] = len(chosen)
    return counts


def run_checkov(directory: Path, frameworks: list[str]) -> tuple[float, dict[str, Any]]:
    command = [str(CHECKOV), "-d", str(directory), "--framework", *frameworks, "--quiet", "--compact", "-o", "json"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=3600, check=False)
    elapsed = time.perf_counter() - started
    try:
        report = json.loads(completed.stdout) if completed.stdout.strip() else {}
    except json.JSONDecodeError:
        report = {"error": completed.stdout[-500:]}
    return elapsed, report


def checkov_failed(report: Any) -> list[dict[str, str]]:
    reports = report if isinstance(report, list) else [report]
    failed: list[dict[str, str]] = []
    for item in reports:
        for check in (item.get("results") or {}).get("failed_checks", []):
            failed.append({"check_id": check["check_id"], "resource": check["resource"], "name": check["check_name"]})
    return failed


def run_trivy(directory: Path) -> list[dict[str, str]] | None:
    if not TRIVY.exists():
        return None
    command = [str(TRIVY), "config", "--skip-check-update", "--quiet", "--format", "json", str(directory)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(completed.stdout or "{}")
    found: list[dict[str, str]] = []
    for result in report.get("Results") or []:
        for misconf in result.get("Misconfigurations") or []:
            cause = misconf.get("CauseMetadata") or {}
            found.append({"check_id": misconf["ID"], "resource": cause.get("Resource", ""), "name": misconf["Title"]})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--checkov-runs", type=int, default=3)
    parser.add_argument("--subset", type=int, default=200, help="files per kind in the Checkov comparison")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "load_before": os.getloadavg(),
    }
    results["tree"] = generate(TREE, 10_000, 7)
    results["casevault_tree_serial"] = time_casevault([TREE], args.runs, workers=1)
    results["casevault_tree_parallel"] = time_casevault([TREE], args.runs, workers=os.cpu_count() or 1)

    results["subset"] = build_subset(args.subset)
    results["casevault_subset"] = time_casevault([SUBSET], args.runs, workers=1)
    if CHECKOV.exists():
        timings = []
        report: Any = {}
        for _ in range(args.checkov_runs):
            elapsed, report = run_checkov(SUBSET, ["terraform", "kubernetes"])
            timings.append(elapsed)
        checkov_median = statistics.median(timings)
        files = results["subset"]["terraform"] + results["subset"]["kubernetes"]
        results["checkov_subset"] = {
            "files_supported": files,
            "compose_files_ignored": results["subset"]["compose"],
            "wall_all_s": [round(t, 2) for t in timings],
            "wall_median_s": round(checkov_median, 2),
            "files_per_s": round(files / checkov_median, 1),
            "failed_checks": len(checkov_failed(report)),
        }
        results["ratio_casevault_vs_checkov_wall"] = round(
            checkov_median / results["casevault_subset"]["wall_median_s"], 1
        )
        _, nsg_report = run_checkov(NSG_FIXTURE, ["terraform"])
        results["nsg_checkov"] = checkov_failed(nsg_report)
    nsg = scan_paths([NSG_FIXTURE])
    results["nsg_casevault"] = [{"check_id": f.check_id, "resource": f.subject, "name": f.title} for f in nsg.findings]
    results["nsg_trivy"] = run_trivy(NSG_FIXTURE)
    results["load_after"] = os.getloadavg()
    (OUT / "exposure-results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
