"""Live probes: ask a running store, without credentials, whether it answers. Metadata only.

Every probe is opt-in (an explicit HOST:PORT), uses a timeout on every socket and HTTP request, never
follows redirects, and reads only names, versions and counts, never stored values.
"""

from __future__ import annotations

import contextlib
import enum
import re
import socket
import struct
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from casevault.exposure import bson
from casevault.exposure import catalogue as cat
from casevault.exposure.findings import Check, Finding, make_finding

DEFAULT_TIMEOUT = 3.0


class ProbeKind(enum.StrEnum):
    """The services a probe knows how to ask."""

    REDIS = "redis"
    MEMCACHED = "memcached"
    POSTGRES = "postgres"
    MYSQL = "mysql"
    RABBITMQ = "rabbitmq"
    ELASTICSEARCH = "elasticsearch"
    KIBANA = "kibana"
    COUCHDB = "couchdb"
    MONGODB = "mongodb"
    S3 = "s3"


PORT_KINDS: dict[int, ProbeKind] = {
    6379: ProbeKind.REDIS,
    11211: ProbeKind.MEMCACHED,
    5432: ProbeKind.POSTGRES,
    3306: ProbeKind.MYSQL,
    5672: ProbeKind.RABBITMQ,
    9200: ProbeKind.ELASTICSEARCH,
    5601: ProbeKind.KIBANA,
    5984: ProbeKind.COUCHDB,
    27017: ProbeKind.MONGODB,
}


class ProbeError(Exception):
    """A target that cannot be parsed or reached the way the probe needs."""


@dataclass(frozen=True)
class Target:
    """A host and port to probe, with the scheme used for HTTP kinds."""

    host: str
    port: int
    scheme: str = "http"

    @property
    def label(self) -> str:
        """host:port, with IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The HTTP base URL of the target."""
        return f"{self.scheme}://{self.label}"


def parse_target(text: str) -> Target:
    """Parse HOST:PORT, [IPv6]:PORT or http(s)://HOST:PORT; raises ProbeError when malformed."""
    scheme = "http"
    raw = text.strip()
    match = re.match(r"^(https?)://", raw)
    if match:
        scheme = match.group(1)
        raw = raw[match.end() :].split("/", 1)[0]
    bracketed = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)", raw)
    plain = re.fullmatch(r"([A-Za-z0-9.\-_]+):(\d+)", raw)
    found = bracketed or plain
    if found is None:
        raise ProbeError(f"expected HOST:PORT, got {text!r}")
    port = int(found.group(2))
    if not 0 < port < 65536:
        raise ProbeError(f"port out of range in {text!r}")
    return Target(found.group(1), port, scheme)


@dataclass
class ProbeResult:
    """What a probe learned: the kind it spoke, whether the target answered, and findings."""

    target: str
    kind: ProbeKind | None
    reachable: bool
    authenticated: bool | None = None
    detail: str = ""
    findings: list[Finding] = field(default_factory=list)

    def exposed(self, check: Check, evidence: str, *, detail: str, details: dict[str, Any]) -> None:
        """The store answered without credentials: mark it unauthenticated and record the catalogue finding."""
        self.authenticated = False
        self.detail = detail
        self.findings.append(make_finding(check, evidence, target=self.target, details=details))


# ----------------------------------------------------------------------------- sockets


def _connect(target: Target, timeout: float) -> socket.socket:
    connection = socket.create_connection((target.host, target.port), timeout=timeout)
    connection.settimeout(timeout)
    return connection


def _recv_exact(connection: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ProbeError("connection closed early")
        chunks.extend(chunk)
    return bytes(chunks)


def _recv_until(connection: socket.socket, terminator: bytes, limit: int = 1 << 20) -> bytes:
    data = bytearray()
    while terminator not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data.extend(chunk)
        if len(data) > limit:
            raise ProbeError("reply too large")
    return bytes(data)


def _http(timeout: float) -> httpx.Client:
    # trust_env=False: no proxy from the environment may redirect a probe elsewhere
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=True)


# ----------------------------------------------------------------------------- Redis


def _resp_command(*words: str) -> bytes:
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        raw = word.encode()
        parts.append(f"${len(raw)}\r\n".encode() + raw + b"\r\n")
    return b"".join(parts)


def _resp_read(connection: socket.socket) -> tuple[bool, str]:
    header = _recv_until(connection, b"\r\n", limit=4096)
    line, _, rest = header.partition(b"\r\n")
    if line.startswith(b"$"):
        length = int(line[1:])
        body = bytearray(rest)
        while len(body) < length + 2:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body.extend(chunk)
        return True, body[:length].decode(errors="replace")
    return line.startswith(b"+"), line.decode(errors="replace")


def probe_redis(target: Target, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """INFO without AUTH: an answer means anyone who reaches the port can read and write every key."""
    result = ProbeResult(target.label, ProbeKind.REDIS, reachable=True)
    with contextlib.closing(_connect(target, timeout)) as connection:
        connection.sendall(_resp_command("INFO", "server"))
        ok, body = _resp_read(connection)
        if not ok:
            result.authenticated = True
            result.detail = "INFO refused: " + body.split(" ", 1)[0].lstrip("-")
            return result
        info = dict(line.split(":", 1) for line in body.splitlines() if ":" in line and not line.startswith("#"))
        connection.sendall(_resp_command("INFO", "keyspace"))
        _, keyspace = _resp_read(connection)
        keys = sum(int(match) for match in re.findall(r"keys=(\d+)", keyspace))
        with contextlib.suppress(OSError):
            connection.sendall(_resp_command("QUIT"))
    version = info.get("redis_version", "?")
    result.exposed(
        cat.PROBE_REDIS_OPEN,
        f"INFO answered without AUTH: redis_version {version}, {keys} keys",
        detail=f"redis {version}, {keys} keys",
        details={"version": version, "keys": keys, "mode": info.get("redis_mode")},
    )
    return result


# ----------------------------------------------------------------------------- memcached


def probe_memcached(target: Target, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """`stats` without SASL: an answer means the cache can be read and flushed by anyone who reaches it."""
    result = ProbeResult(target.label, ProbeKind.MEMCACHED, reachable=True)
    with contextlib.closing(_connect(target, timeout)) as connection:
        connection.sendall(b"stats\r\n")
        reply = _recv_until(connection, b"\r\n", limit=1 << 16)
        if reply.startswith(b"STAT"):
            reply += b"" if b"END\r\n" in reply else _recv_until(connection, b"END\r\n", limit=1 << 16)
    text = reply.decode(errors="replace")
    stats = dict(re.findall(r"^STAT (\S+) (\S+)\r?$", text, re.M))
    if "version" not in stats:
        result.authenticated = True
        result.detail = "stats refused"
        return result
    items = int(stats.get("curr_items", "0"))
    result.exposed(
        cat.PROBE_MEMCACHED_OPEN,
        f"stats answered without authentication: version {stats['version']}, {items} items",
        detail=f"memcached {stats['version']}, {items} items",
        details={"version": stats["version"], "items": items},
    )
    return result


# ----------------------------------------------------------------------------- PostgreSQL


def probe_postgres(target: Target, timeout: float = DEFAULT_TIMEOUT, *, user: str = "postgres") -> ProbeResult:
    """Start a session as `user` with no password; AuthenticationOk means pg_hba.conf trusts us."""
    result = ProbeResult(target.label, ProbeKind.POSTGRES, reachable=True)
    params = b"user\x00" + user.encode() + b"\x00database\x00postgres\x00application_name\x00casevault-scan\x00\x00"
    startup = struct.pack("!ii", len(params) + 8, 196608) + params
    version = "?"
    with contextlib.closing(_connect(target, timeout)) as connection:
        connection.sendall(startup)
        kind, payload = _pg_message(connection)
        if kind == b"E":
            result.authenticated = True
            result.detail = "login refused: " + _pg_error_code(payload)
            return result
        if kind != b"R":
            raise ProbeError("not a PostgreSQL server")
        (code,) = struct.unpack("!i", payload[:4])
        if code != 0:
            result.authenticated = True
            result.detail = {3: "password", 5: "md5", 10: "SASL (scram)"}.get(code, f"auth {code}") + " required"
            return result
        ready = False
        for _ in range(64):
            kind, payload = _pg_message(connection)
            if kind == b"S":
                name, _, value = payload.partition(b"\x00")
                if name == b"server_version":
                    version = value.rstrip(b"\x00").decode(errors="replace")
            if kind == b"E":
                # trust let us past authentication but the session failed (e.g. no such role)
                result.authenticated = True
                result.detail = "authentication skipped (trust) but login failed: " + _pg_error_code(payload)
                return result
            if kind == b"Z":
                ready = True
                break
        if not ready:
            raise ProbeError("no ReadyForQuery from PostgreSQL")
        with contextlib.suppress(OSError):
            connection.sendall(b"X\x00\x00\x00\x04")
    result.exposed(
        cat.PROBE_POSTGRES_TRUST,
        f"login as {user!r} accepted with no password (trust), server_version {version}",
        detail=f"PostgreSQL {version}: login as {user} without password",
        details={"version": version, "user": user},
    )
    return result


def _pg_message(connection: socket.socket) -> tuple[bytes, bytes]:
    header = _recv_exact(connection, 5)
    (length,) = struct.unpack("!i", header[1:])
    if length < 4 or length > 1 << 20:
        raise ProbeError("malformed PostgreSQL message")
    return header[:1], _recv_exact(connection, length - 4)


def _pg_error_code(payload: bytes) -> str:
    for field_value in payload.split(b"\x00"):
        if field_value.startswith(b"C"):
            return "SQLSTATE " + field_value[1:].decode(errors="replace")
    return "error"


# ----------------------------------------------------------------------------- MySQL / MariaDB


def _mysql_packet(connection: socket.socket) -> tuple[int, bytes]:
    header = _recv_exact(connection, 4)
    length = header[0] | header[1] << 8 | header[2] << 16
    return header[3], _recv_exact(connection, length)


def _mysql_send(connection: socket.socket, sequence: int, payload: bytes) -> None:
    length = len(payload)
    connection.sendall(bytes([length & 0xFF, length >> 8 & 0xFF, length >> 16 & 0xFF, sequence & 0xFF]) + payload)


def probe_mysql(target: Target, timeout: float = DEFAULT_TIMEOUT, *, user: str = "root") -> ProbeResult:
    """Log in as root with an empty password over TCP; an OK packet means anyone on the network can."""
    result = ProbeResult(target.label, ProbeKind.MYSQL, reachable=True)
    with contextlib.closing(_connect(target, timeout)) as connection:
        sequence, greeting = _mysql_packet(connection)
        if not greeting or greeting[0] == 0xFF:
            result.authenticated = True
            result.detail = "server refused the connection"
            return result
        if greeting[0] != 0x0A:
            raise ProbeError("not a MySQL/MariaDB server")
        version = greeting[1 : greeting.index(b"\x00", 1)].decode(errors="replace")
        capabilities = 0x00000001 | 0x00000200 | 0x00008000 | 0x00080000  # long password, 4.1, secure conn, plugin
        response = (
            struct.pack("<IIB", capabilities, 1 << 24, 33)
            + b"\x00" * 23
            + user.encode()
            + b"\x00"
            + b"\x00"  # auth response length 0: the empty password
            + b"mysql_native_password\x00"
        )
        _mysql_send(connection, sequence + 1, response)
        for _ in range(3):
            sequence, reply = _mysql_packet(connection)
            if reply[:1] == b"\xfe":  # auth switch: answer the new plugin with an empty password too
                _mysql_send(connection, sequence + 1, b"")
                continue
            break
        with contextlib.suppress(OSError):
            _mysql_send(connection, 0, b"\x01")  # COM_QUIT
    if reply[:1] != b"\x00":
        result.authenticated = True
        result.detail = f"{version}: empty password refused"
        return result
    result.exposed(
        cat.PROBE_MYSQL_EMPTY_ROOT,
        f"login as {user!r} with an empty password accepted over TCP, server {version}",
        detail=f"{version}: {user} with empty password accepted",
        details={"version": version, "user": user},
    )
    return result


# ----------------------------------------------------------------------------- RabbitMQ (AMQP 0-9-1)


def _amqp_frame(connection: socket.socket) -> tuple[int, bytes]:
    header = _recv_exact(connection, 7)
    frame_type, _channel, size = struct.unpack("!BHI", header)
    if size > 1 << 20:
        raise ProbeError("AMQP frame too large")
    payload = _recv_exact(connection, size)
    if _recv_exact(connection, 1) != b"\xce":
        raise ProbeError("malformed AMQP frame")
    return frame_type, payload


def _amqp_table(data: bytes) -> dict[str, Any]:
    """Decode the field-table types servers use in Connection.Start (strings, bools, nested tables)."""
    table: dict[str, Any] = {}
    position = 0
    while position < len(data):
        length = data[position]
        name = data[position + 1 : position + 1 + length].decode(errors="replace")
        position += 1 + length
        kind = data[position : position + 1]
        position += 1
        if kind == b"S":
            (size,) = struct.unpack_from("!I", data, position)
            table[name] = data[position + 4 : position + 4 + size].decode(errors="replace")
            position += 4 + size
        elif kind == b"t":
            table[name] = data[position] == 1
            position += 1
        elif kind == b"F":
            (size,) = struct.unpack_from("!I", data, position)
            table[name] = _amqp_table(data[position + 4 : position + 4 + size])
            position += 4 + size
        else:
            break  # other types do not occur in server-properties we read; stop rather than guess
    return table


def probe_rabbitmq(
    target: Target,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    user: str = "guest",
    password: str = "guest",  # noqa: S107 - the well-known default is exactly what this probe tries
) -> ProbeResult:
    """Try the default guest/guest login; Connection.Tune means the broker accepted it."""
    result = ProbeResult(target.label, ProbeKind.RABBITMQ, reachable=True)
    with contextlib.closing(_connect(target, timeout)) as connection:
        connection.sendall(b"AMQP\x00\x00\x09\x01")
        frame_type, payload = _amqp_frame(connection)
        if frame_type != 1 or payload[:4] != b"\x00\x0a\x00\x0a":
            raise ProbeError("not an AMQP 0-9-1 server")
        (size,) = struct.unpack_from("!I", payload, 6)
        properties = _amqp_table(payload[10 : 10 + size])
        credentials = b"\x00" + user.encode() + b"\x00" + password.encode()
        start_ok = (
            b"\x00\x0a\x00\x0b"
            + struct.pack("!I", 0)
            + b"\x05PLAIN"
            + struct.pack("!I", len(credentials))
            + credentials
            + b"\x05en_US"
        )
        connection.sendall(struct.pack("!BHI", 1, 0, len(start_ok)) + start_ok + b"\xce")
        try:
            frame_type, payload = _amqp_frame(connection)
            accepted = frame_type == 1 and payload[:4] == b"\x00\x0a\x00\x1e"  # Connection.Tune
        except (ProbeError, OSError):
            accepted = False
    product = f"{properties.get('product', 'AMQP broker')} {properties.get('version', '')}".strip()
    if not accepted:
        result.authenticated = True
        result.detail = f"{product}: {user} refused"
        return result
    result.exposed(
        cat.PROBE_RABBITMQ_GUEST,
        f"AMQP login with the default user {user!r} and its default password accepted ({product})",
        detail=f"{product}: default {user}/{password} accepted",
        details={"product": product},
    )
    return result


# ----------------------------------------------------------------------------- HTTP stores


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def probe_elasticsearch(target: Target, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """GET / and /_cat/indices without credentials; counts indices and documents, never reads them."""
    result = ProbeResult(target.label, ProbeKind.ELASTICSEARCH, reachable=True)
    with _http(timeout) as client:
        root = client.get(f"{target.base_url}/")
        if root.status_code in {401, 403}:
            result.authenticated = True
            result.detail = f"HTTP {root.status_code}: credentials required"
            return result
        info = _json(root) if root.status_code == 200 else None
        version = (info or {}).get("version", {}) if isinstance(info, dict) else {}
        product = "OpenSearch" if version.get("distribution") == "opensearch" else "Elasticsearch"
        indices = client.get(
            f"{target.base_url}/_cat/indices",
            params={"format": "json", "h": "index,docs.count,store.size", "bytes": "b"},
        )
    if indices.status_code in {401, 403}:
        result.authenticated = True
        result.detail = f"{product}: /_cat/indices needs credentials"
        return result
    rows = _json(indices)
    if indices.status_code != 200 or not isinstance(rows, list):
        raise ProbeError("not an Elasticsearch/OpenSearch endpoint")
    documents = sum(int(row.get("docs.count") or 0) for row in rows if isinstance(row, dict))
    size = sum(int(row.get("store.size") or 0) for row in rows if isinstance(row, dict))
    number = version.get("number", "?")
    result.exposed(
        cat.PROBE_ES_OPEN,
        f"{product} {number} lists {len(rows)} indices holding {documents} documents ({size} bytes) "
        "to anyone without credentials",
        detail=f"{product} {number}: {len(rows)} indices, {documents} documents",
        details={
            "product": product,
            "version": number,
            "indices": len(rows),
            "documents": documents,
            "bytes": size,
        },
    )
    return result


def probe_kibana(target: Target, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """GET /api/status without credentials; a 200 means the dashboards (and their data) are open."""
    result = ProbeResult(target.label, ProbeKind.KIBANA, reachable=True)
    with _http(timeout) as client:
        response = client.get(f"{target.base_url}/api/status")
    if response.status_code in {401, 403} or response.is_redirect:
        result.authenticated = True
        result.detail = f"HTTP {response.status_code}: login required"
        return result
    status = _json(response)
    if response.status_code != 200 or not isinstance(status, dict):
        raise ProbeError("not a Kibana endpoint")
    version = (status.get("version") or {}).get("number", "?") if isinstance(status.get("version"), dict) else "?"
    result.exposed(
        cat.PROBE_KIBANA_OPEN,
        f"/api/status answered without credentials (Kibana {version})",
        detail=f"Kibana {version} open",
        details={"version": version},
    )
    return result


def probe_couchdb(target: Target, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """GET /, /_all_dbs and the node config without credentials (admin party when the config answers)."""
    result = ProbeResult(target.label, ProbeKind.COUCHDB, reachable=True)
    with _http(timeout) as client:
        welcome = _json(client.get(f"{target.base_url}/"))
        if not isinstance(welcome, dict) or "couchdb" not in welcome:
            raise ProbeError("not a CouchDB endpoint")
        version = str(welcome.get("version", "?"))
        databases = client.get(f"{target.base_url}/_all_dbs")
        config = client.get(f"{target.base_url}/_node/_local/_config")
        if config.status_code == 404:
            config = client.get(f"{target.base_url}/_config")
    names = _json(databases) if databases.status_code == 200 else None
    count = len(names) if isinstance(names, list) else None
    if config.status_code == 200 and isinstance(_json(config), dict):
        result.exposed(
            cat.PROBE_COUCH_OPEN,
            f"CouchDB {version} serves its configuration to anonymous users"
            + (f"; {count} databases listed" if count is not None else ""),
            detail=f"CouchDB {version}: admin party",
            details={"version": version, "databases": count},
        )
    elif count is not None:
        result.exposed(
            cat.PROBE_COUCH_DBS,
            f"CouchDB {version} lists {count} databases to anonymous users",
            detail=f"CouchDB {version}: {count} databases listed anonymously",
            details={"version": version, "databases": count},
        )
    else:
        result.authenticated = True
        result.detail = f"CouchDB {version}: credentials required"
    return result


def _parse_xml(body: bytes) -> ElementTree.Element | None:
    # refuse DTDs outright: entity tricks are the XML attacks a hostile endpoint could send
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        return ElementTree.fromstring(body)  # noqa: S314 - DTDs are refused above
    except ElementTree.ParseError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def probe_s3(target: Target, timeout: float = DEFAULT_TIMEOUT, *, max_buckets: int = 50) -> ProbeResult:
    """Unsigned ListBuckets, then unsigned ListObjectsV2 per bucket: counts only, no object is read."""
    result = ProbeResult(target.label, ProbeKind.S3, reachable=True)
    with _http(timeout) as client:
        response = client.get(f"{target.base_url}/")
        root = _parse_xml(response.content) if response.content else None
        if response.status_code in {401, 403} or (root is not None and _local(root.tag) == "Error"):
            result.authenticated = True
            result.detail = f"HTTP {response.status_code}: anonymous listing refused"
            return result
        if response.status_code != 200 or root is None or _local(root.tag) != "ListAllMyBucketsResult":
            raise ProbeError("not an S3-compatible endpoint")
        buckets = [element.text or "" for element in root.iter() if _local(element.tag) == "Name" and element.text]
        objects = 0
        listable = 0
        for bucket in buckets[:max_buckets]:
            listing = client.get(f"{target.base_url}/{bucket}", params={"list-type": "2", "max-keys": "1000"})
            tree = _parse_xml(listing.content) if listing.status_code == 200 else None
            if tree is None or _local(tree.tag) != "ListBucketResult":
                continue
            listable += 1
            objects += sum(1 for element in tree.iter() if _local(element.tag) == "Contents")
    result.exposed(
        cat.PROBE_S3_ANONYMOUS,
        f"unsigned requests list {len(buckets)} buckets; {listable} list their objects ({objects} seen)",
        detail=f"{len(buckets)} buckets, {listable} listable, {objects} objects seen",
        details={"buckets": len(buckets), "listable": listable, "objects": objects},
    )
    return result


# ----------------------------------------------------------------------------- MongoDB (OP_MSG)

OP_MSG = 2013


def _mongo_command(connection: socket.socket, request_id: int, command: dict[str, Any]) -> dict[str, Any]:
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(command)
    connection.sendall(struct.pack("<iiii", 16 + len(body), request_id, 0, OP_MSG) + body)
    header = _recv_exact(connection, 16)
    length, _request, _response_to, opcode = struct.unpack("<iiii", header)
    if opcode != OP_MSG or length < 21 or length > 48 << 20:
        raise ProbeError("not a MongoDB OP_MSG reply")
    payload = _recv_exact(connection, length - 16)
    if payload[4] != 0:
        raise ProbeError("unexpected OP_MSG section")
    return bson.decode(payload[5:])


def probe_mongodb(target: Target, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """hello, then listDatabases without credentials; success means every database is readable."""
    result = ProbeResult(target.label, ProbeKind.MONGODB, reachable=True)
    with contextlib.closing(_connect(target, timeout)) as connection:
        hello = _mongo_command(connection, 1, {"hello": 1, "$db": "admin"})
        listing = _mongo_command(connection, 2, {"listDatabases": 1, "nameOnly": False, "$db": "admin"})
    wire = hello.get("maxWireVersion", "?")
    if listing.get("ok") != 1 and listing.get("ok") != 1.0:
        result.authenticated = True
        result.detail = f"listDatabases refused (code {listing.get('code', '?')})"
        return result
    databases = listing.get("databases") or []
    total = listing.get("totalSize", 0)
    result.exposed(
        cat.PROBE_MONGO_OPEN,
        f"listDatabases answered without authentication: {len(databases)} databases, {total} bytes "
        f"(maxWireVersion {wire})",
        detail=f"MongoDB wire {wire}: {len(databases)} databases, {total} bytes",
        details={"databases": len(databases), "bytes": total, "max_wire_version": wire},
    )
    return result


# ----------------------------------------------------------------------------- dispatch and autodetect

PROBES: dict[ProbeKind, Callable[[Target, float], ProbeResult]] = {
    ProbeKind.REDIS: probe_redis,
    ProbeKind.MEMCACHED: probe_memcached,
    ProbeKind.POSTGRES: probe_postgres,
    ProbeKind.MYSQL: probe_mysql,
    ProbeKind.RABBITMQ: probe_rabbitmq,
    ProbeKind.ELASTICSEARCH: probe_elasticsearch,
    ProbeKind.KIBANA: probe_kibana,
    ProbeKind.COUCHDB: probe_couchdb,
    ProbeKind.MONGODB: probe_mongodb,
    ProbeKind.S3: probe_s3,
}


def detect_kind(target: Target, timeout: float = DEFAULT_TIMEOUT) -> ProbeKind | None:
    """Identify the service from its greeting or its answer to a harmless hello; None if unknown."""
    short = min(timeout, 1.0)
    with contextlib.suppress(OSError, ProbeError), contextlib.closing(_connect(target, short)) as connection:
        connection.settimeout(min(short, 0.5))  # servers that speak first (MySQL) do so at once
        greeting = connection.recv(512)
        if len(greeting) > 5 and greeting[4] == 0x0A:
            return ProbeKind.MYSQL
    with contextlib.suppress(httpx.HTTPError), _http(short) as client:
        response = client.get(f"{target.base_url}/")
        return _kind_from_http(response)
    with (
        contextlib.suppress(OSError, ProbeError, ValueError),
        contextlib.closing(_connect(target, short)) as connection,
    ):
        _mongo_command(connection, 1, {"hello": 1, "$db": "admin"})
        return ProbeKind.MONGODB
    for kind, request, expected in (
        (ProbeKind.REDIS, b"PING\r\n", (b"+PONG", b"-NOAUTH", b"-ERR")),
        (ProbeKind.MEMCACHED, b"version\r\n", (b"VERSION",)),
        (ProbeKind.POSTGRES, struct.pack("!ii", 8, 80877103), (b"S", b"N")),
        (ProbeKind.RABBITMQ, b"AMQP\x00\x00\x09\x01", (b"\x01\x00\x00", b"AMQP")),
    ):
        with contextlib.suppress(OSError, ProbeError), contextlib.closing(_connect(target, short)) as connection:
            connection.sendall(request)
            reply = connection.recv(64)
            if reply.startswith(expected) and (kind is not ProbeKind.POSTGRES or len(reply) == 1):
                return kind
    return None


def _kind_from_http(response: httpx.Response) -> ProbeKind | None:
    headers = {key.lower(): value for key, value in response.headers.items()}
    body = response.content[:65536]
    if "kbn-name" in headers or "kbn-license-sig" in headers or "/app/" in headers.get("location", ""):
        return ProbeKind.KIBANA
    if b"You Know, for Search" in body or b'"cluster_name"' in body:
        return ProbeKind.ELASTICSEARCH
    if b'"couchdb"' in body:
        return ProbeKind.COUCHDB
    if (
        b"ListAllMyBucketsResult" in body
        or "x-amz-request-id" in headers
        or "amazons3" in headers.get("server", "").lower()
    ):
        return ProbeKind.S3
    return None


def probe(
    target: str | Target, kind: ProbeKind | str | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> ProbeResult:
    """Probe one explicitly listed target; the kind comes from the argument, the port, or the greeting."""
    parsed = target if isinstance(target, Target) else parse_target(target)
    chosen = ProbeKind(kind) if kind is not None else None
    if chosen is None:
        chosen = PORT_KINDS.get(parsed.port)
        if chosen is None:
            try:
                _connect(parsed, min(timeout, 1.0)).close()
            except OSError as error:
                return ProbeResult(parsed.label, None, reachable=False, detail=f"unreachable ({type(error).__name__})")
            chosen = detect_kind(parsed, timeout)
            if chosen is None:
                return ProbeResult(parsed.label, None, reachable=True, detail="service not recognised")
    try:
        return PROBES[chosen](parsed, timeout)
    except (ConnectionRefusedError, TimeoutError, httpx.ConnectError, httpx.TimeoutException) as error:
        return ProbeResult(parsed.label, chosen, reachable=False, detail=f"unreachable ({type(error).__name__})")
    except (OSError, ProbeError, httpx.HTTPError, ValueError, struct.error, IndexError) as error:
        return ProbeResult(parsed.label, chosen, reachable=True, detail=f"probe failed: {type(error).__name__}")
