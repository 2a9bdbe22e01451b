"""Self-check of a casevault installation: debug flags, weak secrets, key files, database auth, TLS.

The age of the last audit checkpoint needs the audit log of a running app; it is not checked here
until the app exists (the lead can pass it in through `extra_findings`).
"""

from __future__ import annotations

import math
import stat
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from casevault.exposure import catalogue as cat
from casevault.exposure.datastores import address_scope, truthy
from casevault.exposure.findings import Finding, Severity, make_finding, sort_findings
from casevault.exposure.probes import Target, probe_postgres

KNOWN_WEAK_SECRETS = {
    "",
    "changeme",
    "change-me",
    "secret",
    "password",
    "casevault",
    "dev",
    "development",
    "test",
    "insecure",
    "default",
    "demo",
    "admin",
    "12345678",
    "notsecret",
    "please-change-me",
}
MIN_SECRET_LENGTH = 32
KEY_SUFFIXES = (".key", ".pem", ".kek", ".dek", ".p12", ".jwk")


def _entropy_bits(text: str) -> float:
    counts = Counter(text)
    length = len(text)
    return -sum(count / length * math.log2(count / length) for count in counts.values()) * length


def _secret_problem(secret: str | None) -> str | None:
    if secret is None:
        return "not set"
    if secret.strip().lower() in KNOWN_WEAK_SECRETS:
        return "a well-known default"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"shorter than {MIN_SECRET_LENGTH} characters"
    if _entropy_bits(secret) < 128:
        return "low entropy (repetitive)"
    return None


def _key_files(data_dir: Path) -> Iterable[Path]:
    if not data_dir.is_dir():
        return []
    return sorted(
        path
        for path in data_dir.rglob("*")
        if path.is_file() and (path.suffix.lower() in KEY_SUFFIXES or "key" in path.name.lower())
    )


def self_check(
    *,
    env: Mapping[str, str],
    data_dir: Path | None = None,
    database_url: str | None = None,
    bind_host: str | None = None,
    tls_enabled: bool | None = None,
    probe_database: bool = True,
    timeout: float = 3.0,
    extra_findings: Iterable[Finding] = (),
) -> list[Finding]:
    """Check casevault's own settings; arguments override the CASEVAULT_* variables read from `env`.

    Secrets are judged (length, entropy, known defaults) but never echoed.
    """
    findings: list[Finding] = list(extra_findings)
    where = "casevault settings"

    debug = env.get("CASEVAULT_DEBUG")
    if debug is not None and truthy(debug) is True:
        findings.append(make_finding(cat.SELF_DEBUG, "CASEVAULT_DEBUG is on", target=where))

    problem = _secret_problem(env.get("CASEVAULT_SECRET"))
    if problem is not None:
        findings.append(make_finding(cat.SELF_WEAK_SECRET, f"CASEVAULT_SECRET is {problem}", target=where))

    directory = data_dir or (Path(env["CASEVAULT_DATA_DIR"]) if env.get("CASEVAULT_DATA_DIR") else None)
    if directory is not None:
        for key_file in _key_files(directory):
            mode = stat.S_IMODE(key_file.stat().st_mode)
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                findings.append(
                    make_finding(
                        cat.SELF_KEY_PERMISSIONS,
                        f"{key_file.name} has mode {mode:04o} (group/other can access it)",
                        file=str(key_file),
                    )
                )

    url = database_url or env.get("CASEVAULT_DATABASE_URL")
    if url:
        findings.extend(_database_findings(url, probe_database=probe_database, timeout=timeout))

    host = bind_host or env.get("CASEVAULT_HOST") or "127.0.0.1"
    tls = (
        tls_enabled if tls_enabled is not None else bool(env.get("CASEVAULT_TLS_CERT") and env.get("CASEVAULT_TLS_KEY"))
    )
    if address_scope(host) != "loopback" and not tls:
        findings.append(make_finding(cat.SELF_NO_TLS, f"serving on {host} without TLS settings", target=where))
    return sort_findings(findings)


def _database_findings(url: str, *, probe_database: bool, timeout: float) -> list[Finding]:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0].lower()
    if scheme in {"sqlite", ""}:
        return []
    # the URL is shown without its password, which is never part of evidence
    port = f":{parts.port}" if parts.port else ""
    shown = f"{parts.scheme}://{parts.username or ''}@{parts.hostname or ''}{port}{parts.path}"
    findings: list[Finding] = []
    if not parts.password:
        findings.append(
            make_finding(cat.SELF_DB_NO_PASSWORD, f"database URL {shown} has no password", target="casevault settings")
        )
        host = parts.hostname or "127.0.0.1"
        if probe_database and scheme in {"postgresql", "postgres"} and address_scope(host) == "loopback":
            target = Target(host, parts.port or 5432)
            try:
                result = probe_postgres(target, timeout, user=parts.username or "postgres")
            except OSError:
                return findings
            if result.authenticated is False:
                findings.append(
                    make_finding(
                        cat.SELF_DB_OPEN,
                        f"{target.label} accepted {parts.username or 'postgres'} with no password",
                        target=target.label,
                        severity=Severity.CRITICAL,
                    )
                )
    return findings
