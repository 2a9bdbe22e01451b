"""Checks of the data stores' own configuration files (Elasticsearch, Redis, MongoDB, PostgreSQL, ...)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from casevault.exposure import catalogue as cat
from casevault.exposure.datastores import address_scope, is_interpolated, truthy
from casevault.exposure.findings import Finding, Severity, make_finding
from casevault.exposure.yamldoc import LineDict, load_documents


@dataclass(frozen=True)
class Setting:
    """One setting of a configuration file with the line it came from."""

    value: Any
    line: int


MAX_FLAT_KEYS = 20_000  # aliases can make a small file describe a huge tree ("billion laughs")
MAX_DEPTH = 16


def flatten_yaml(document: Any, prefix: str = "") -> dict[str, Setting]:
    """Flatten nested YAML into dotted keys (`network: {host: x}` -> `network.host`), keeping lines."""
    flat: dict[str, Setting] = {}
    _flatten(document, prefix, flat, 0)
    return flat


def _flatten(document: Any, prefix: str, flat: dict[str, Setting], depth: int) -> None:
    if not isinstance(document, dict) or depth > MAX_DEPTH:
        return
    for key, value in document.items():
        if len(flat) >= MAX_FLAT_KEYS:
            return
        name = f"{prefix}{key}"
        line = document.lines.get(key, document.line) if isinstance(document, LineDict) else 0
        if isinstance(value, dict) and value:
            _flatten(value, f"{name}.", flat, depth + 1)
        else:
            flat[name] = Setting(value, line)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    if value is None:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _worst_scope(addresses: list[str]) -> str:
    order = ["any", "public", "private", "unknown", "loopback"]
    scopes = [address_scope(address) for address in addresses] or ["loopback"]
    return min(scopes, key=order.index)


# ----------------------------------------------------------------------------- Elasticsearch/OpenSearch


def check_elasticsearch(path: str, text: str, *, line_offset: int = 0) -> list[Finding]:
    """elasticsearch.yml / opensearch.yml: security off or unset, exposed network.host, HTTP without TLS."""
    documents = load_documents(text)
    document = documents[0] if documents else None
    settings = flatten_yaml(document)
    findings: list[Finding] = []
    is_opensearch = "opensearch" in path.lower() or any(key.startswith("plugins.security") for key in settings)

    def at(setting: Setting | None) -> int:
        return (setting.line if setting else 1) + line_offset

    exposed_keys = ("network.host", "http.host", "network.bind_host", "http.bind_host")
    off_loopback = False
    for key in exposed_keys:
        setting = settings.get(key)
        if setting is None:
            continue
        scope = _worst_scope(_as_list(setting.value))
        off_loopback = off_loopback or scope != "loopback"
        if scope in {"any", "public"}:
            findings.append(
                make_finding(
                    cat.ES_NETWORK_EXPOSED,
                    f"{key}: {', '.join(_as_list(setting.value))} ({scope} address)",
                    file=path,
                    line=at(setting),
                )
            )
            break

    security = settings.get("xpack.security.enabled")
    os_disabled = settings.get("plugins.security.disabled") or settings.get("opendistro_security.disabled")
    security_on = False
    if security is not None and truthy(security.value) is False:
        findings.append(
            make_finding(cat.ES_SECURITY_DISABLED, "xpack.security.enabled: false", file=path, line=at(security))
        )
    elif os_disabled is not None and truthy(os_disabled.value) is True:
        findings.append(
            make_finding(cat.ES_SECURITY_DISABLED, "plugins.security.disabled: true", file=path, line=at(os_disabled))
        )
    elif security is not None and truthy(security.value) is True:
        security_on = True
    elif not is_opensearch:
        # 8.x writes xpack.security.* on first start (auto-configuration); any such key means it is on
        auto = any(key.startswith("xpack.security.") for key in settings)
        if auto:
            security_on = True
        elif off_loopback:  # Elasticsearch binds to loopback unless told otherwise: unset is only risky off it
            findings.append(
                make_finding(
                    cat.ES_SECURITY_UNSET,
                    "no xpack.security.enabled setting (default off in Elasticsearch 6.x/7.x)",
                    file=path,
                    line=1 + line_offset,
                )
            )
    else:
        security_on = True  # OpenSearch ships the security plugin enabled

    http_tls_keys = ("xpack.security.http.ssl.enabled", "plugins.security.ssl.http.enabled")
    tls_values = [settings[key] for key in http_tls_keys if key in settings]
    tls_on = any(truthy(setting.value) is True for setting in tls_values)
    exposed = any(f.check_id == cat.ES_NETWORK_EXPOSED.check_id for f in findings)
    if not tls_on and (exposed or (security_on and off_loopback)):
        where = tls_values[0] if tls_values else None
        findings.append(
            make_finding(
                cat.ES_HTTP_NO_TLS,
                "HTTP TLS not enabled" if where is None else "HTTP TLS disabled",
                file=path,
                line=at(where),
            )
        )
    return findings


# ----------------------------------------------------------------------------- Redis


def conf_directives(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """Yield (line, lowercased directive, arguments) of a redis/memcached-style config, quotes honoured."""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if '"' in stripped or "'" in stripped or "#" in stripped:
            try:
                words = shlex.split(stripped, comments=True)
            except ValueError:
                words = stripped.split()
        else:
            words = stripped.split()  # shlex is slow and only needed for quotes and comments
        if words:
            yield number, words[0].lower(), words[1:]


def check_redis(path: str, text: str, *, line_offset: int = 0) -> list[Finding]:
    """redis.conf: protected mode off without password, bind on all interfaces, no requirepass/ACL."""
    bind: tuple[int, list[str]] | None = None
    protected: tuple[int, bool] | None = None
    password_line: int | None = None
    acl_password = False
    for line, directive, args in conf_directives(text):
        if directive == "bind":
            bind = (line, [arg.lstrip("-") for arg in args])
        elif directive == "protected-mode" and args:
            protected = (line, truthy(args[0]) is not False)
        elif directive == "requirepass" and args and args[0] != "":
            password_line = line
        elif directive == "aclfile" and args:
            acl_password = True
        elif directive == "user" and args:
            rules = args[1:]
            enabled = "on" in rules
            has_secret = any(rule.startswith((">", "#")) for rule in rules)
            if enabled and has_secret:
                acl_password = True
    findings: list[Finding] = []
    has_auth = password_line is not None or acl_password
    if bind is None:
        scope = "any"
        bind_line = 1
        bind_text = "no bind directive (Redis then listens on every interface)"
    else:
        scope = _worst_scope(bind[1])
        bind_line = bind[0]
        bind_text = f"bind {' '.join(bind[1])}"
    exposed = scope in {"any", "public"}
    if exposed:
        findings.append(make_finding(cat.REDIS_BIND_ALL, bind_text, file=path, line=bind_line + line_offset))
    if protected is not None and not protected[1] and not has_auth:
        findings.append(
            make_finding(
                cat.REDIS_PROTECTED_MODE_OFF,
                "protected-mode no, no requirepass or ACL user",
                file=path,
                line=protected[0] + line_offset,
            )
        )
    elif not has_auth and exposed:
        findings.append(
            make_finding(
                cat.REDIS_NO_PASSWORD,
                "no requirepass and no ACL user with a password",
                file=path,
                line=1 + line_offset,
            )
        )
    return findings


# ----------------------------------------------------------------------------- MongoDB


def check_mongod(path: str, text: str, *, line_offset: int = 0) -> list[Finding]:
    """mongod.conf (YAML, or the legacy key=value form): bindIp 0.0.0.0 / bindIpAll, authorization off."""
    stripped = text.lstrip()
    if re.search(r"^\s*(bind_ip|auth|noauth|bind_ip_all)\s*=", text, re.M) and ":" not in stripped.split("\n")[0]:
        settings = _legacy_mongod(text)
    else:
        documents = load_documents(text)
        document = documents[0] if documents else None
        if not isinstance(document, dict) or not {"net", "security", "storage", "systemLog", "replication"} & set(
            document
        ):
            return []  # named like a mongod config, but not one
        settings = flatten_yaml(document)
    findings: list[Finding] = []
    exposed = False
    bind_all = settings.get("net.bindIpAll")
    bind_ip = settings.get("net.bindIp")
    if bind_all is not None and truthy(bind_all.value) is True:
        exposed = True
        findings.append(
            make_finding(cat.MONGO_BIND_ALL, "net.bindIpAll: true", file=path, line=bind_all.line + line_offset)
        )
    elif bind_ip is not None:
        addresses = _as_list(bind_ip.value)
        scope = _worst_scope(addresses)
        if scope in {"any", "public"}:
            exposed = True
            findings.append(
                make_finding(
                    cat.MONGO_BIND_ALL,
                    f"net.bindIp: {', '.join(addresses)}",
                    file=path,
                    line=bind_ip.line + line_offset,
                )
            )
    authorization = settings.get("security.authorization")
    if (authorization is None and exposed) or (authorization is not None and truthy(authorization.value) is False):
        evidence = (
            "security.authorization not set (MongoDB then runs without access control)"
            if authorization is None
            else f"security.authorization: {authorization.value}"
        )
        findings.append(
            make_finding(
                cat.MONGO_NO_AUTH,
                evidence,
                file=path,
                line=(authorization.line if authorization else 1) + line_offset,
            )
        )
    if exposed:
        mode = settings.get("net.tls.mode") or settings.get("net.ssl.mode")
        if mode is None or str(mode.value).lower() in {"disabled", "allowtls", "allowssl"}:
            findings.append(
                make_finding(
                    cat.MONGO_NO_TLS,
                    "net.tls.mode not set" if mode is None else f"net.tls.mode: {mode.value}",
                    file=path,
                    line=(mode.line if mode else 1) + line_offset,
                )
            )
    return findings


def _legacy_mongod(text: str) -> dict[str, Setting]:
    settings: dict[str, Setting] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if "=" not in line:
            continue
        key, _, value = (part.strip() for part in line.partition("="))
        if key == "bind_ip":
            settings["net.bindIp"] = Setting(value, number)
        elif key == "bind_ip_all":
            settings["net.bindIpAll"] = Setting(value, number)
        elif key == "auth" and truthy(value):
            settings["security.authorization"] = Setting("enabled", number)
        elif key == "noauth" and truthy(value):
            settings["security.authorization"] = Setting("disabled", number)
    return settings


# ----------------------------------------------------------------------------- PostgreSQL


@dataclass(frozen=True)
class HbaEntry:
    """One pg_hba.conf record."""

    line: int
    kind: str
    database: str
    user: str
    address: str
    method: str


def parse_pg_hba(text: str) -> list[HbaEntry]:
    """Parse pg_hba.conf records (quoted fields, comments, the two-field IP/mask form)."""
    entries: list[HbaEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(("#", "include")):
            continue
        try:
            fields = shlex.split(stripped, comments=True)
        except ValueError:
            fields = stripped.split("#", 1)[0].split()
        if len(fields) < 4:
            continue
        kind = fields[0].lower()
        if kind == "local":
            entries.append(HbaEntry(number, kind, fields[1], fields[2], "", fields[3].lower()))
            continue
        if not kind.startswith("host") or len(fields) < 5:
            continue
        address = fields[3]
        rest = fields[4:]
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", address) and rest and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", rest[0]):
            mask = rest[0]
            bits = sum(bin(int(octet)).count("1") for octet in mask.split("."))
            address = f"{address}/{bits}"
            rest = rest[1:]
        if not rest:
            continue
        entries.append(HbaEntry(number, kind, fields[1], fields[2], address, rest[0].lower()))
    return entries


def _hba_scope(address: str) -> str:
    if address in {"all", "0.0.0.0/0", "::/0", "*"}:
        return "any"
    if address in {"samehost"}:
        return "loopback"
    if address in {"samenet"}:
        return "private"
    if address.startswith(".") or (not address[:1].isdigit() and ":" not in address):
        return "public"  # a host name or domain suffix: reachable from wherever that name resolves
    return address_scope(address)


def check_pg_hba(path: str, text: str, *, line_offset: int = 0) -> list[Finding]:
    """pg_hba.conf: trust from the network, cleartext passwords, logins from any address."""
    findings: list[Finding] = []
    for entry in parse_pg_hba(text):
        record = f"{entry.kind} {entry.database} {entry.user} {entry.address} {entry.method}".replace("  ", " ")
        line = entry.line + line_offset
        if entry.kind == "local":
            continue  # unix-socket records need a shell on the host; not an exposure
        scope = _hba_scope(entry.address)
        if entry.method == "trust" and scope != "loopback":
            severity = Severity.CRITICAL if scope in {"any", "public"} else Severity.HIGH
            findings.append(make_finding(cat.PG_TRUST, record, file=path, line=line, severity=severity))
            continue
        if entry.method == "password" and entry.kind != "hostssl" and scope != "loopback":
            findings.append(make_finding(cat.PG_CLEARTEXT_PASSWORD, record, file=path, line=line))
        if scope == "any" and entry.method not in {"reject", "cert"}:
            # scram-sha-256 from anywhere is the Docker image's default: a weaker signal than md5/password
            severity = Severity.LOW if entry.method == "scram-sha-256" else Severity.MEDIUM
            findings.append(make_finding(cat.PG_WIDE_RANGE, record, file=path, line=line, severity=severity))
    return findings


def pg_hba_trusts_network(text: str) -> bool:
    """True when a pg_hba.conf trusts any non-loopback client."""
    return any(
        entry.kind != "local" and entry.method == "trust" and _hba_scope(entry.address) != "loopback"
        for entry in parse_pg_hba(text)
    )


def parse_postgresql_conf(text: str) -> dict[str, Setting]:
    """postgresql.conf `name = value` pairs (the `=` is optional), last one wins."""
    settings: dict[str, Setting] = {}
    pattern = re.compile(r"^\s*([A-Za-z_.]+)\s*(?:=\s*|\s+)('(?:[^']|'')*'|[^#\s]+)")
    for number, raw in enumerate(text.splitlines(), start=1):
        match = pattern.match(raw)
        if match is None or raw.lstrip().startswith("#"):
            continue
        value = match.group(2)
        if value.startswith("'"):
            value = value[1:-1].replace("''", "'")
        settings[match.group(1).lower()] = Setting(value, number)
    return settings


def check_postgresql_conf(path: str, text: str, *, hba_text: str | None = None) -> list[Finding]:
    """postgresql.conf: listen_addresses '*' (critical with a pg_hba.conf that trusts the network)."""
    settings = parse_postgresql_conf(text)
    listen = settings.get("listen_addresses")
    if listen is None:
        return []
    scope = _worst_scope(_as_list(listen.value))
    if scope not in {"any", "public"}:
        return []
    evidence = f"listen_addresses = '{listen.value}'"
    findings = [make_finding(cat.PG_LISTEN_ALL, evidence, file=path, line=listen.line)]
    if hba_text is not None and pg_hba_trusts_network(hba_text):
        findings.append(
            make_finding(
                cat.PG_LISTEN_ALL_WEAK_HBA,
                f"{evidence} and the pg_hba.conf beside it trusts network clients",
                file=path,
                line=listen.line,
            )
        )
    ssl = settings.get("ssl")
    if ssl is None or truthy(ssl.value) is False:
        findings.append(
            make_finding(
                cat.PG_SSL_OFF,
                "ssl not enabled" if ssl is None else f"ssl = {ssl.value}",
                file=path,
                line=ssl.line if ssl else listen.line,
            )
        )
    return findings


# ----------------------------------------------------------------------------- memcached


def memcached_options(text: str) -> list[tuple[int, str]]:
    """memcached options with their lines, from /etc/memcached.conf or an OPTIONS="..." sysconfig file."""
    options: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        assignment = re.match(r"^(OPTIONS|LISTEN|PORT|UDP_PORT|MEMCACHED_OPTS)\s*=\s*(.*)$", stripped)
        if assignment:
            name, value = assignment.group(1), assignment.group(2).strip().strip("\"'")
            if name == "LISTEN":
                options.append((number, f"-l {value}"))
            elif name == "UDP_PORT":
                options.append((number, f"-U {value}"))
            elif name in {"OPTIONS", "MEMCACHED_OPTS"}:
                try:
                    words = shlex.split(value)
                except ValueError:
                    words = value.split()
                options.extend((number, word) for word in _join_option_values(words))
            continue
        if stripped.startswith("-"):
            options.append((number, stripped.split("#", 1)[0].strip()))
    return options


def _join_option_values(words: list[str]) -> list[str]:
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in {"-l", "-U", "-p", "--listen", "--udp-port"}:
            joined[-1] = f"{joined[-1]} {word}"
        else:
            joined.append(word)
    return joined


def check_memcached(path: str, text: str) -> list[Finding]:
    """memcached.conf / sysconfig: listens on every interface (default without -l), no SASL, UDP on."""
    listen: tuple[int, str] | None = None
    sasl = False
    udp: tuple[int, str] | None = None
    for line, option in memcached_options(text):
        match = re.match(r"^(-l|--listen)[ =]?\s*(\S+)", option)
        if match:
            listen = (line, match.group(2))
        elif option in {"-S", "--enable-sasl"}:
            sasl = True
        else:
            udp_match = re.match(r"^(-U|--udp-port)[ =]?\s*(\S+)", option)
            if udp_match:
                udp = (line, udp_match.group(2))
    findings: list[Finding] = []
    if listen is None:
        scope, evidence, line = "any", "no -l option (memcached then listens on every interface)", 1
    else:
        scope, evidence, line = _worst_scope(_as_list(listen[1])), f"-l {listen[1]}", listen[0]
    exposed = scope in {"any", "public"}
    if exposed:
        findings.append(make_finding(cat.MEMCACHED_LISTEN_ALL, evidence, file=path, line=line))
    if not sasl and exposed:
        findings.append(make_finding(cat.MEMCACHED_NO_SASL, "no -S (SASL) option", file=path, line=line))
    if udp is not None and udp[1].strip("\"'") not in {"0", ""} and exposed:
        findings.append(make_finding(cat.MEMCACHED_UDP, f"-U {udp[1]}", file=path, line=udp[0]))
    return findings


# ----------------------------------------------------------------------------- CouchDB


def parse_ini(text: str) -> dict[str, dict[str, Setting]]:
    """A lenient ini reader that keeps line numbers and duplicate-tolerant sections (CouchDB style)."""
    sections: dict[str, dict[str, Setting]] = {}
    current: dict[str, Setting] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in ";#":
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", stripped)
        if header:
            current = sections.setdefault(header.group(1).strip().lower(), {})
            continue
        if current is None or "=" not in stripped:
            continue
        key, _, value = stripped.partition("=")
        current[key.strip().lower()] = Setting(value.strip(), number)
    return sections


def check_couchdb(path: str, text: str) -> list[Finding]:
    """CouchDB local.ini: bind_address 0.0.0.0, no admin (admin party), admin passwords in plain text."""
    sections = parse_ini(text)
    findings: list[Finding] = []
    exposed = False
    for section in ("chttpd", "httpd"):
        bind = sections.get(section, {}).get("bind_address")
        if bind is not None and address_scope(bind.value) in {"any", "public"}:
            exposed = True
            findings.append(
                make_finding(cat.COUCH_BIND_ALL, f"[{section}] bind_address = {bind.value}", file=path, line=bind.line)
            )
            break
    admins = sections.get("admins")
    if admins is not None and not admins:
        header_line = _section_line(text, "admins")
        findings.append(
            make_finding(
                cat.COUCH_ADMIN_PARTY,
                "[admins] section has no account",
                file=path,
                line=header_line,
            )
        )
    for name, setting in (admins or {}).items():
        if not setting.value.startswith(("-pbkdf2-", "-hashed-", "-pbkdf2:")) and not is_interpolated(setting.value):
            findings.append(
                make_finding(
                    cat.COUCH_PLAINTEXT_ADMIN,
                    f"[admins] {name} = ******** (plain text)",
                    file=path,
                    line=setting.line,
                )
            )
    valid_user = sections.get("chttpd", {}).get("require_valid_user")
    if valid_user is not None and truthy(valid_user.value) is False and exposed and admins is None:
        findings.append(
            make_finding(
                cat.COUCH_ADMIN_PARTY,
                "[chttpd] require_valid_user = false",
                file=path,
                line=valid_user.line,
                severity=Severity.MEDIUM,
                title="CouchDB lets anonymous users read databases",
            )
        )
    return findings


def _section_line(text: str, name: str) -> int:
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.strip().lower() == f"[{name}]":
            return number
    return 1


def is_couchdb_ini(text: str) -> bool:
    """True when an ini file has CouchDB's sections ([chttpd], [couchdb], [admins] ...)."""
    sections = {match.strip().lower() for match in re.findall(r"^\s*\[([^\]]+)\]", text, re.M)}
    return bool(sections & {"chttpd", "couchdb", "couch_httpd_auth", "chttpd_auth", "couch_peruser", "admins"})
