"""What counts as a data store: ports, image names, and settings that switch authentication off."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Ports of the stores whose exposure the scanner cares about, with the store they usually mean.
DATASTORE_PORTS: dict[int, str] = {
    9200: "elasticsearch",
    9300: "elasticsearch-transport",
    5601: "kibana",
    27017: "mongodb",
    27018: "mongodb",
    27019: "mongodb",
    6379: "redis",
    26379: "redis-sentinel",
    5432: "postgresql",
    3306: "mysql",
    11211: "memcached",
    5984: "couchdb",
    9042: "cassandra",
    7000: "cassandra",
    8086: "influxdb",
    7474: "neo4j",
    7687: "neo4j",
    5672: "rabbitmq",
    15672: "rabbitmq-management",
    8529: "arangodb",
    8091: "couchbase",
    28015: "rethinkdb",
    2379: "etcd",
    1433: "mssql",
    1521: "oracle",
    9000: "clickhouse",
    8123: "clickhouse",
    6333: "qdrant",
    19530: "milvus",
}

# The ports the issue names explicitly: the ones cloud firewall checks always cover.
CORE_PORTS = (9200, 9300, 5601, 27017, 6379, 5432, 3306, 11211, 5984)

# Image/chart/name fragments that identify a store; matched against path components and image names.
_STORE_WORDS = {
    "elasticsearch": "elasticsearch",
    "opensearch": "opensearch",
    "elastic": "elasticsearch",
    "kibana": "kibana",
    "opensearch-dashboards": "kibana",
    "redis": "redis",
    "valkey": "redis",
    "keydb": "redis",
    "mongo": "mongodb",
    "mongodb": "mongodb",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "postgis": "postgresql",
    "timescaledb": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "percona": "mysql",
    "memcached": "memcached",
    "couchdb": "couchdb",
    "cassandra": "cassandra",
    "scylla": "cassandra",
    "influxdb": "influxdb",
    "neo4j": "neo4j",
    "rabbitmq": "rabbitmq",
    "clickhouse": "clickhouse",
    "arangodb": "arangodb",
    "couchbase": "couchbase",
    "rethinkdb": "rethinkdb",
    "etcd": "etcd",
    "mssql": "mssql",
    "solr": "solr",
    "minio": "minio",
}
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


# Words that turn a store's name into a tool around it (redis-commander, mongo-express, postgres-exporter).
_TOOL_WORDS = {
    "exporter",
    "commander",
    "express",
    "insight",
    "admin",
    "ui",
    "head",
    "hq",
    "browser",
    "web",
    "operator",
    "proxy",
    "backup",
    "client",
    "cli",
    "migrate",
    "migrations",
    "init",
    "tools",
    "dump",
    "beat",
    "curator",
    "gui",
    "webui",
    "adminer",
    "sentinel-exporter",
    "monitor",
    "metrics",
    "stunnel",
}
_GENERIC_SEGMENTS = {"server", "database", "db", "community-server", "enterprise-server"}


def store_from_text(text: str) -> str | None:
    """The data store an image, chart or service name refers to (`bitnami/redis:7` -> redis).

    Tools named after a store (redis-commander, mongo-express, postgres-exporter) are not stores.
    """
    repository = text.lower().rsplit("@", 1)[0]
    segments = [segment for segment in repository.split("/") if segment]
    if not segments:
        return None
    segments[-1] = segments[-1].split(":", 1)[0]
    candidates = [segments[-1]]
    if segments[-1] in _GENERIC_SEGMENTS and len(segments) > 1:
        candidates.append(segments[-2])
    for segment in candidates:
        store = _STORE_WORDS.get(segment)
        if store is not None:
            return store
        words = [word for word in _WORD_SPLIT.split(segment) if word]
        if words and words[0] in _STORE_WORDS and not any(word in _TOOL_WORDS for word in words[1:]):
            return _STORE_WORDS[words[0]]
    return None


def store_from_words(text: str) -> str | None:
    """A store named anywhere in free text such as a path (`charts/redis/values.yaml` -> redis)."""
    words = [word for word in _WORD_SPLIT.split(text.lower()) if word]
    if any(word in _TOOL_WORDS for word in words):
        return None
    for word in words:
        store = _STORE_WORDS.get(word)
        if store is not None:
            return store
    return None


def store_from_path(path: str) -> str | None:
    """The store a file's own name or its nearest folders name (`charts/redis/values.yaml` -> redis)."""
    parts = [part for part in path.replace("\\", "/").split("/") if part]
    if not parts:
        return None
    stem = parts[-1].rsplit(".", 1)[0]
    for component in [stem, *reversed(parts[-4:-1])]:
        store = store_from_words(component)
        if store is not None:
            return store
    return None


def store_from_port(port: int) -> str | None:
    """The data store a well-known port usually belongs to."""
    return DATASTORE_PORTS.get(port)


def image_version(image: str) -> tuple[int, ...] | None:
    """The numeric version in an image tag (`elasticsearch:7.17.3` -> (7, 17, 3)), if any."""
    name = image.rsplit("@", 1)[0]
    if ":" not in name.rsplit("/", 1)[-1]:
        return None
    tag = name.rsplit(":", 1)[1]
    match = re.match(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", tag)
    if match is None:
        return None
    return tuple(int(group) for group in match.groups() if group is not None)


def truthy(value: Any) -> bool | None:
    """Read YAML/ini/env booleans (true/yes/on/1); None when the value is not a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if not isinstance(value, str):
        return None
    text = value.strip().strip("\"'").lower()
    if text in {"true", "yes", "on", "1", "y", "enabled"}:
        return True
    if text in {"false", "no", "off", "0", "n", "disabled"}:
        return False
    return None


def is_interpolated(value: str) -> bool:
    """True for values still holding ${VAR}, {{ template }} or $VAR: their real content is unknown."""
    return "${" in value or "{{" in value or bool(re.match(r"^\$[A-Za-z_]", value))


def address_scope(host: str) -> str:
    """Classify a listen/bind address: 'loopback', 'any', 'private', 'public' or 'unknown'."""
    text = host.strip().strip("\"'[]").lower()
    if text in {"", "localhost", "_local_", "local", "ip6-localhost"}:
        return "loopback"
    # S104 flags the literal; here it is data we compare against, not an address we bind to
    if text in {"*", "0.0.0.0", "::", "0", "any", "_global_", "0.0.0.0/0", "::/0", "internet", "all"}:  # noqa: S104
        return "any"
    if text.startswith(("_site_", "_eth", "_en")):
        return "private"
    if is_interpolated(text):
        return "unknown"
    try:
        network = ipaddress.ip_network(text.split("%", 1)[0], strict=False)
    except ValueError:
        return "unknown"
    if network.prefixlen == 0:
        return "any"
    if network.is_loopback:
        return "loopback"
    if network.is_private or network.is_link_local:
        return "private"
    return "public"


def port_range_covers(spec: str) -> list[int]:
    """The data-store ports a port spec covers: '9200', '9200-9300', '*', '0-65535'."""
    text = spec.strip().strip("\"'")
    if text in {"*", "any", "all", "-1"}:
        return list(CORE_PORTS)
    match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", text)
    if match is None:
        return []
    low = int(match.group(1))
    high = int(match.group(2) or low)
    return [port for port in CORE_PORTS if low <= port <= high]


@dataclass(frozen=True)
class AuthSetting:
    """An environment variable setting that switches a store's authentication off."""

    name: str
    store: str
    reason: str


def _env_flag(value: str, expected: bool) -> bool:
    return truthy(value) is expected


def auth_disabling_env(env: Mapping[str, str]) -> list[AuthSetting]:
    """Settings in a container environment that disable authentication (values never echoed)."""
    found: list[AuthSetting] = []
    upper = {key.upper(): (key, value) for key, value in env.items()}

    def check(name: str, store: str, reason: str, expected: bool = True) -> None:
        entry = upper.get(name.upper())
        if entry is not None and not is_interpolated(entry[1]) and _env_flag(entry[1], expected):
            found.append(AuthSetting(entry[0], store, reason))

    check("xpack.security.enabled", "elasticsearch", "Elasticsearch security disabled", expected=False)
    check("XPACK_SECURITY_ENABLED", "elasticsearch", "Elasticsearch security disabled", expected=False)
    check("plugins.security.disabled", "opensearch", "OpenSearch security plugin disabled")
    check("DISABLE_SECURITY_PLUGIN", "opensearch", "OpenSearch security plugin disabled")
    check("ALLOW_EMPTY_PASSWORD", "bitnami", "empty password allowed")
    check("MYSQL_ALLOW_EMPTY_PASSWORD", "mysql", "root may have an empty password")
    check("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "mysql", "root may have an empty password")
    check("MARIADB_ALLOW_EMPTY_PASSWORD", "mysql", "root may have an empty password")
    check("REDIS_PROTECTED_MODE", "redis", "Redis protected mode off", expected=False)
    check("COUCHDB_ALLOW_ADMIN_PARTY", "couchdb", "CouchDB admin party")
    entry = upper.get("POSTGRES_HOST_AUTH_METHOD")
    if entry is not None and entry[1].strip().strip("\"'").lower() in {"trust", "password"}:
        found.append(AuthSetting(entry[0], "postgresql", "PostgreSQL trusts network clients"))
    entry = upper.get("MONGODB_AUTH_ENABLED") or upper.get("MONGO_AUTH")
    if entry is not None and _env_flag(entry[1], False):
        found.append(AuthSetting(entry[0], "mongodb", "MongoDB authentication disabled"))
    for name in ("MYSQL_ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD"):
        entry = upper.get(name)
        if entry is not None and entry[1] == "":
            found.append(AuthSetting(entry[0], "mysql", "root password is empty"))
    return found


def env_to_map(environment: Any) -> dict[str, str]:
    """Normalise compose/k8s-style environment (list of A=B, map, or list of name/value) to a dict."""
    result: dict[str, str] = {}
    if isinstance(environment, Mapping):
        for key, value in environment.items():
            # a key with no value is passed through from the host environment: content unknown
            result[str(key)] = f"${{{key}}}" if value is None else _scalar_text(value)
    elif isinstance(environment, list):
        for item in environment:
            if isinstance(item, str):
                key, equals, value = item.partition("=")
                result[key.strip()] = value if equals else f"${{{key.strip()}}}"
            elif isinstance(item, Mapping) and "name" in item:
                # a k8s env entry with valueFrom comes from a Secret: treat it as set, content unknown
                value = item.get("value")
                result[str(item["name"])] = "${valueFrom}" if value is None else _scalar_text(value)
    return result


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def command_args(command: Any) -> list[str]:
    """A compose/k8s command or args value as a list of words."""
    if isinstance(command, str):
        return command.split()
    if isinstance(command, list):
        words: list[str] = []
        for item in command:
            words.extend(str(item).split())
        return words
    return []


def redis_command_auth(words: Iterable[str]) -> tuple[bool, bool]:
    """(password set, protected mode off) from redis-server command-line words."""
    tokens = list(words)
    has_password = any(word in {"--requirepass", "--aclfile"} for word in tokens) or any(
        word.startswith("--requirepass=") for word in tokens
    )
    protected_off = False
    for index, word in enumerate(tokens):
        if word == "--protected-mode" and index + 1 < len(tokens):
            protected_off = truthy(tokens[index + 1]) is False
    return has_password, protected_off
