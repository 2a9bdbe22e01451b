"""Walk paths, recognise each file by name and content, run the matching checks, escalate."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casevault.exposure import catalogue as cat
from casevault.exposure import orchestration, stores, terraform
from casevault.exposure.findings import Finding, escalate, make_finding, sort_findings
from casevault.exposure.yamldoc import load_documents

MAX_FILE_BYTES = 4 * 1024 * 1024
PARALLEL_THRESHOLD = 400  # below this, starting worker processes costs more than it saves
_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".terraform", "__pycache__", ".venv", "venv", ".tox"}


class FileKind(enum.StrEnum):
    """What a configuration file is, decided from its name and, where names are ambiguous, its content."""

    ELASTICSEARCH = "elasticsearch"
    REDIS = "redis"
    MONGOD = "mongod"
    PG_HBA = "pg_hba"
    POSTGRESQL_CONF = "postgresql_conf"
    MEMCACHED = "memcached"
    COUCHDB = "couchdb"
    YAML = "yaml"  # compose, Kubernetes, Helm values or a store config: decided after parsing
    TERRAFORM = "terraform"
    TERRAFORM_JSON = "terraform_json"
    JSON = "json"  # Kubernetes manifests can be JSON too
    UNKNOWN = "unknown"


@dataclass
class ScanResult:
    """Findings of one scan plus how many files were looked at and recognised."""

    findings: list[Finding] = field(default_factory=list)
    files_seen: int = 0
    files_checked: int = 0

    def at_or_above(self, threshold: Any) -> list[Finding]:
        """Findings whose severity reaches `threshold`."""
        return [finding for finding in self.findings if finding.severity.rank >= threshold.rank]


_REDIS_CONTENT = re.compile(r"^\s*(protected-mode|requirepass|appendonly|maxmemory-policy|save \d+ \d+)\b", re.M)
_HBA_CONTENT = re.compile(r"^\s*(host|hostssl|hostnossl|local)\s+\S+\s+\S+\s+\S+", re.M)
_PGCONF_CONTENT = re.compile(r"^\s*(listen_addresses|max_connections|shared_buffers)\s*=", re.M)


def classify(path: Path, head: str) -> FileKind:
    """Decide the file kind from its name, and from its first kilobytes when the name is not enough."""
    name = path.name.lower()
    suffixes = name.split(".")[1:]
    if name.endswith(".tf.json"):
        return FileKind.TERRAFORM_JSON
    if name.endswith(".tf"):
        return FileKind.TERRAFORM
    if name in {"elasticsearch.yml", "elasticsearch.yaml", "opensearch.yml", "opensearch.yaml"}:
        return FileKind.ELASTICSEARCH
    if name.startswith("pg_hba") and (name.endswith(".conf") or "conf" in suffixes or name == "pg_hba"):
        return FileKind.PG_HBA
    if name.startswith("postgresql") and name.endswith(".conf"):
        return FileKind.POSTGRESQL_CONF
    if name.startswith(("mongod", "mongodb")) and name.endswith((".conf", ".cfg", ".yaml", ".yml")):
        return FileKind.MONGOD
    if name.startswith(("redis", "sentinel", "valkey")) and name.endswith(".conf"):
        return FileKind.REDIS
    if name.startswith("memcached") and name.endswith(".conf") and re.search(r"^\s*(-\w|OPTIONS\s*=)", head, re.M):
        return FileKind.MEMCACHED
    if (
        name == "memcached"
        and path.parent.name in {"default", "sysconfig"}
        and re.search(r"^\s*OPTIONS\s*=", head, re.M)
    ):
        # RHEL-style /etc/sysconfig/memcached; Debian's /etc/default/memcached has no OPTIONS and is skipped
        return FileKind.MEMCACHED
    if name.endswith((".yml", ".yaml")):
        return FileKind.YAML
    if name.endswith(".ini"):
        return FileKind.COUCHDB if stores.is_couchdb_ini(head) else FileKind.UNKNOWN
    if name.endswith(".json"):
        return FileKind.JSON if '"apiVersion"' in head and '"kind"' in head else FileKind.UNKNOWN
    if name.endswith(".conf"):
        if _HBA_CONTENT.search(head) and re.search(r"\b(trust|md5|scram-sha-256|peer|ident|reject|password)\b", head):
            return FileKind.PG_HBA
        if _PGCONF_CONTENT.search(head):
            return FileKind.POSTGRESQL_CONF
        if _REDIS_CONTENT.search(head):
            return FileKind.REDIS
    return FileKind.UNKNOWN


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every regular file under the given paths, skipping VCS and dependency folders; sorted."""
    for root in paths:
        if root.is_file():
            yield root
            continue
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for filename in sorted(filenames):
                path = Path(directory) / filename
                if path.is_file():  # skips broken symlinks, sockets and fifos
                    yield path


@dataclass
class FileOutcome:
    """What one file contributed: its own findings plus the pieces checked across files of a directory."""

    path: Path
    findings: list[Finding] = field(default_factory=list)
    checked: bool = False
    module: terraform.Module | None = None
    pg_conf: tuple[str, str] | None = None
    hba_text: str | None = None


def _chunks(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _scan_chunk(base: Path | None, paths: list[Path]) -> list[FileOutcome]:
    scanner = Scanner(base=base)
    return [scanner.scan_file(path) for path in paths]


class Scanner:
    """Scans files and directories; one instance can be reused (watch mode) and keeps no global state.

    With `workers` > 1, files are read and checked in that many processes; the cross-file checks
    (Terraform modules, postgresql.conf with its pg_hba.conf) and escalation run in the caller.
    """

    def __init__(self, *, base: Path | None = None, workers: int = 1) -> None:
        self._base = os.path.abspath(base) if base is not None else None
        self._workers = max(1, workers)

    def _display(self, path: Path) -> str:
        if self._base is not None:
            absolute = os.path.abspath(path)
            if absolute == self._base or absolute.startswith(self._base + os.sep):
                return Path(os.path.relpath(absolute, self._base)).as_posix()
        return path.as_posix()

    def scan(self, paths: Iterable[Path], *, on_file: Callable[[Path], None] | None = None) -> ScanResult:
        """Scan every file under `paths`; malformed files yield an info finding and the scan goes on."""
        files = list(iter_files(paths))
        result = ScanResult(files_seen=len(files))
        if self._workers > 1 and len(files) >= PARALLEL_THRESHOLD:
            outcomes = self._scan_parallel(files, on_file)
        else:
            outcomes = []
            for path in files:
                outcomes.append(self.scan_file(path))
                if on_file is not None:
                    on_file(path)
        modules: dict[Path, terraform.Module] = {}
        pg_conf: dict[Path, tuple[str, str]] = {}
        hba_text: dict[Path, str] = {}
        for outcome in outcomes:
            result.files_checked += outcome.checked
            result.findings.extend(outcome.findings)
            directory = outcome.path.parent
            if outcome.module is not None:
                module = modules.setdefault(directory, terraform.Module())
                module.resources.extend(outcome.module.resources)
                module.variables.update(outcome.module.variables)
                module.pending.extend(outcome.module.pending)
            if outcome.pg_conf is not None:
                pg_conf[directory] = outcome.pg_conf
            if outcome.hba_text is not None:
                hba_text[directory] = outcome.hba_text
        for directory, (display, text) in pg_conf.items():
            result.findings.extend(stores.check_postgresql_conf(display, text, hba_text=hba_text.get(directory)))
        for module in modules.values():
            if not module.resources:
                continue
            for display, text in module.pending:
                try:
                    terraform.parse_hcl(display, text, module)
                except Exception as error:
                    result.findings.append(_parse_error(display, error))
            result.findings.extend(terraform.check_module(module))
        result.findings = sort_findings(escalate(result.findings, cat.ROLES))
        return result

    def _scan_parallel(self, files: list[Path], on_file: Callable[[Path], None] | None) -> list[FileOutcome]:
        outcomes: list[FileOutcome] = []
        size = max(50, min(500, len(files) // (self._workers * 4) or 1))
        with ProcessPoolExecutor(max_workers=self._workers) as pool:
            futures = [
                pool.submit(_scan_chunk, Path(self._base) if self._base else None, chunk)
                for chunk in _chunks(files, size)
            ]
            for future in futures:
                chunk_outcomes = future.result()
                outcomes.extend(chunk_outcomes)
                if on_file is not None:
                    for outcome in chunk_outcomes:
                        on_file(outcome.path)
        return outcomes

    def scan_file(self, path: Path) -> FileOutcome:
        """Check one file; never raises for file content (parse errors become info findings)."""
        outcome = FileOutcome(path)
        kind = classify(path, "")
        sniff = path.name.lower().endswith((".conf", ".ini", ".json")) or path.name == "memcached"
        if kind is FileKind.UNKNOWN and not sniff:
            return outcome
        display = self._display(path)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                return outcome
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            outcome.findings.append(make_finding(cat.PARSE_ERROR, f"cannot read file: {error.strerror}", file=display))
            return outcome
        if kind is FileKind.UNKNOWN:
            kind = classify(path, text[:8192])
            if kind is FileKind.UNKNOWN:
                return outcome
        outcome.checked = True
        try:
            if kind is FileKind.TERRAFORM:
                outcome.module = terraform.Module()
                if terraform.is_relevant(text):
                    terraform.parse_hcl(display, text, outcome.module)
                elif "variable" in text:
                    # variable defaults matter only if the module has checked resources: parse later, if at all
                    outcome.module.pending.append((display, text))
            elif kind is FileKind.TERRAFORM_JSON:
                outcome.module = terraform.Module()
                terraform.parse_tf_json(display, text, outcome.module)
            elif kind is FileKind.POSTGRESQL_CONF:
                outcome.pg_conf = (display, text)
            elif kind is FileKind.PG_HBA:
                outcome.hba_text = text
                outcome.findings.extend(stores.check_pg_hba(display, text))
            else:
                outcome.findings.extend(self._check_text(kind, path, display, text))
        except Exception as error:
            outcome.findings.append(_parse_error(display, error))
        return outcome

    def _check_text(self, kind: FileKind, path: Path, display: str, text: str) -> list[Finding]:
        if kind is FileKind.ELASTICSEARCH:
            return stores.check_elasticsearch(display, text)
        if kind is FileKind.REDIS:
            return stores.check_redis(display, text)
        if kind is FileKind.MONGOD:
            return stores.check_mongod(display, text)
        if kind is FileKind.MEMCACHED:
            return stores.check_memcached(display, text)
        if kind is FileKind.COUCHDB:
            return stores.check_couchdb(display, text)
        if kind is FileKind.JSON:
            import json

            document = json.loads(text)
            return orchestration.check_kubernetes(display, [document])
        return self._check_yaml(path, display, text)

    def _check_yaml(self, path: Path, display: str, text: str) -> list[Finding]:
        if _is_template(path, text):
            return []  # a Helm/Go template is not YAML until rendered; its values file is what we check
        documents = [document for document in load_documents(text) if document is not None]
        if not documents:
            return []
        first = documents[0]
        if any(orchestration.is_kubernetes(document) for document in documents):
            return orchestration.check_kubernetes(display, documents)
        if orchestration.is_compose(first):
            return orchestration.check_compose(display, first)
        if isinstance(first, dict) and _looks_like_elasticsearch(first):
            return stores.check_elasticsearch(display, text)
        if isinstance(first, dict) and _looks_like_mongod(first):
            return stores.check_mongod(display, text)
        if orchestration.looks_like_helm_values(display, first) or (path.parent / "Chart.yaml").exists():
            return orchestration.check_helm_values(display, first)
        return []


def _is_template(path: Path, text: str) -> bool:
    if "{{" not in text:
        return False
    return "templates" in path.parts or any(marker in text for marker in (".Values", ".Release", "{{-", "{{ include"))


def _looks_like_elasticsearch(document: dict[str, Any]) -> bool:
    keys = {str(key) for key in document}
    markers = ("network.host", "xpack.", "cluster.name", "discovery.", "path.data", "plugins.security", "node.name")
    return any(key.startswith(markers) for key in keys) and not {"services", "apiVersion"} & keys


def _looks_like_mongod(document: dict[str, Any]) -> bool:
    net = document.get("net")
    return (
        isinstance(net, dict)
        and ("bindIp" in net or "bindIpAll" in net or "port" in net)
        and ("storage" in document or "security" in document or "systemLog" in document or "bindIp" in net)
    )


def _parse_error(display: str, error: BaseException) -> Finding:
    # the message of a parser error can quote file content; keep only its type and position
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else getattr(error, "line", None)
    return make_finding(
        cat.PARSE_ERROR,
        f"{type(error).__name__} while parsing",
        file=display,
        line=line if isinstance(line, int) else None,
    )


def scan_paths(paths: Iterable[Path | str], *, base: Path | None = None, workers: int = 1) -> ScanResult:
    """Scan files and directories and return the findings, most severe first."""
    return Scanner(base=base, workers=workers).scan([Path(path) for path in paths])
