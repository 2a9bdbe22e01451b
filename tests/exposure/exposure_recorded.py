"""Recorded-response servers for stores that cannot be installed here (Elasticsearch, Kibana, CouchDB, MongoDB).

The bodies below follow what those servers answer (Elasticsearch 7.17 / OpenSearch 2.x, Kibana 7.17,
CouchDB 3.3, MongoDB 7.0 wire version 21); they are canned, not live servers.
"""

from __future__ import annotations

import json
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from casevault.exposure import bson

ES_ROOT = {
    "name": "es-node-1",
    "cluster_name": "support-search",
    "cluster_uuid": "kN3c9xJ9Q8yJ4m1Q0b2lJw",
    "version": {
        "number": "7.17.9",
        "build_flavor": "default",
        "build_type": "docker",
        "lucene_version": "8.11.1",
        "minimum_wire_compatibility_version": "6.8.0",
    },
    "tagline": "You Know, for Search",
}
ES_INDICES = [
    {"index": "support-cases-2019.12", "docs.count": "125000000", "store.size": "98765432100"},
    {"index": "support-notes-2019.12", "docs.count": "125000000", "store.size": "12345678900"},
    {"index": ".kibana_1", "docs.count": "12", "store.size": "40960"},
]
KIBANA_STATUS = {"name": "kibana", "version": {"number": "7.17.9", "build_snapshot": False}, "status": {}}
COUCH_ROOT = {"couchdb": "Welcome", "version": "3.3.3", "vendor": {"name": "The Apache Software Foundation"}}
COUCH_DBS = ["_replicator", "_users", "cases"]
COUCH_CONFIG = {"chttpd": {"bind_address": "0.0.0.0", "port": "5984"}, "admins": {}}  # noqa: S104 - an address in test data, nothing binds to it
UNAUTHORIZED = {"error": {"type": "security_exception", "reason": "missing authentication credentials"}, "status": 401}

# path -> (status, headers, body) per recorded server
ROUTES: dict[str, dict[str, tuple[int, dict[str, str], Any]]] = {
    "es-open": {"/": (200, {}, ES_ROOT), "/_cat/indices": (200, {}, ES_INDICES)},
    "es-secured": {
        "/": (401, {"WWW-Authenticate": 'Basic realm="security"'}, UNAUTHORIZED),
        "/_cat/indices": (401, {"WWW-Authenticate": 'Basic realm="security"'}, UNAUTHORIZED),
    },
    "kibana-open": {
        "/api/status": (200, {"kbn-name": "kibana"}, KIBANA_STATUS),
        "/": (302, {"kbn-name": "kibana", "location": "/app/home"}, ""),
    },
    "kibana-secured": {"/api/status": (401, {"kbn-name": "kibana"}, {"statusCode": 401, "error": "Unauthorized"})},
    "couch-party": {
        "/": (200, {}, COUCH_ROOT),
        "/_all_dbs": (200, {}, COUCH_DBS),
        "/_node/_local/_config": (200, {}, COUCH_CONFIG),
    },
    "couch-secured": {
        "/": (200, {}, COUCH_ROOT),
        "/_all_dbs": (401, {}, {"error": "unauthorized", "reason": "You are not a server admin."}),
        "/_node/_local/_config": (401, {}, {"error": "unauthorized", "reason": "You are not a server admin."}),
    },
}


class _Handler(BaseHTTPRequestHandler):
    # set per server by http_server() through a subclass
    routes: ClassVar[dict[str, tuple[int, dict[str, str], Any]]]
    hits: ClassVar[list[str]]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        path = self.path.split("?", 1)[0]
        status, headers, body = self.routes.get(path, (404, {}, {"error": "not found"}))
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def http_server(routes: dict[str, tuple[int, dict[str, str], Any]]) -> Iterator[tuple[int, list[str]]]:
    """Serve canned responses on a free loopback port; yields (port, paths requested)."""
    hits: list[str] = []
    handler = type("RecordedHandler", (_Handler,), {"routes": routes, "hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _mongo_reply(request_id: int, document: dict[str, Any]) -> bytes:
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(document)
    return struct.pack("<iiii", 16 + len(body), request_id + 1000, request_id, 2013) + body


HELLO = {
    "isWritablePrimary": True,
    "topologyVersion": {"counter": 0},
    "maxBsonObjectSize": 16777216,
    "maxMessageSizeBytes": 48000000,
    "maxWriteBatchSize": 100000,
    "localTime": 0,
    "logicalSessionTimeoutMinutes": 30,
    "connectionId": 7,
    "minWireVersion": 0,
    "maxWireVersion": 21,
    "readOnly": False,
    "ok": 1.0,
}
LIST_OPEN = {
    "databases": [
        {"name": "admin", "sizeOnDisk": 40960, "empty": False},
        {"name": "support", "sizeOnDisk": 73728000, "empty": False},
    ],
    "totalSize": 73768960,
    "totalSizeMb": 70,
    "ok": 1.0,
}
LIST_DENIED = {
    "ok": 0.0,
    "errmsg": "command listDatabases requires authentication",
    "code": 13,
    "codeName": "Unauthorized",
}


@contextmanager
def mongo_server(*, auth: bool) -> Iterator[tuple[int, list[str]]]:
    """A recorded MongoDB 7.0: answers OP_MSG hello and listDatabases (open or Unauthorized)."""
    commands: list[str] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            while True:
                header = self._read(16)
                if header is None:
                    return
                length, request_id, _, opcode = struct.unpack("<iiii", header)
                if opcode != 2013 or not 21 <= length <= 48_000_000:
                    return  # like mongod, hang up on anything that is not a sane OP_MSG
                payload = self._read(length - 16)
                if payload is None or opcode != 2013:
                    return
                command = bson.decode(payload[5:])
                name = next(iter(command))
                commands.append(name)
                reply = HELLO if name in {"hello", "isMaster"} else (LIST_DENIED if auth else LIST_OPEN)
                self.request.sendall(_mongo_reply(request_id, reply))

        def _read(self, size: int) -> bytes | None:
            data = b""
            while len(data) < size:
                chunk = self.request.recv(size - len(data))
                if not chunk:
                    return None
                data += chunk
            return data

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], commands
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
