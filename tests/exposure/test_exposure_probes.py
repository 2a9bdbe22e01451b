"""Live probes against real servers on 127.0.0.1 (Redis, PostgreSQL, MariaDB, RabbitMQ, memcached, moto S3)
and against recorded-response servers for Elasticsearch, Kibana, CouchDB and MongoDB, which cannot be
installed here (see exposure_recorded.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from exposure_recorded import ROUTES, http_server, mongo_server

from casevault.exposure import ProbeKind, bson, parse_target, probe
from casevault.exposure.probes import ProbeError


def _only(result_findings: list, check_id: str) -> None:  # type: ignore[type-arg]
    assert [f.check_id for f in result_findings] == [check_id]


def test_redis_without_password_is_reported() -> None:
    result = probe("127.0.0.1:6379")
    assert result.kind is ProbeKind.REDIS
    assert result.authenticated is False
    _only(result.findings, "CV-PR-001")
    assert result.findings[0].target == "127.0.0.1:6379"
    assert "redis_version" in result.findings[0].evidence


def test_postgres_trust_is_reported() -> None:
    result = probe("127.0.0.1:5432")
    assert result.kind is ProbeKind.POSTGRES
    _only(result.findings, "CV-PR-003")
    assert result.findings[0].severity.value == "critical"


def test_postgres_unknown_role_is_refused_not_reported() -> None:
    from casevault.exposure.probes import Target, probe_postgres

    result = probe_postgres(Target("127.0.0.1", 5432), user="no_such_role_casevault")
    assert result.findings == []
    assert result.authenticated is True
    assert "SQLSTATE 28000" in result.detail


def test_mariadb_empty_root_password_is_reported() -> None:
    result = probe("127.0.0.1:3306")
    assert result.kind is ProbeKind.MYSQL
    _only(result.findings, "CV-PR-004")
    assert "MariaDB" in result.findings[0].evidence


def test_mariadb_unknown_user_is_refused() -> None:
    from casevault.exposure.probes import Target, probe_mysql

    result = probe_mysql(Target("127.0.0.1", 3306), user="casevault_nobody")
    assert result.findings == []
    assert result.authenticated is True


def test_rabbitmq_guest_is_reported() -> None:
    result = probe("127.0.0.1:5672")
    assert result.kind is ProbeKind.RABBITMQ
    _only(result.findings, "CV-PR-005")
    assert "RabbitMQ" in result.findings[0].evidence


def test_rabbitmq_wrong_password_is_refused() -> None:
    from casevault.exposure.probes import Target, probe_rabbitmq

    result = probe_rabbitmq(Target("127.0.0.1", 5672), password="not-the-password")
    assert result.findings == []
    assert result.authenticated is True


def test_memcached_on_a_free_port_is_detected_by_banner(memcached: int) -> None:
    result = probe(f"127.0.0.1:{memcached}")  # not 11211: the kind comes from the banner
    assert result.kind is ProbeKind.MEMCACHED
    _only(result.findings, "CV-PR-002")
    assert "items" in result.findings[0].evidence


def test_closed_port_is_unreachable_without_findings(port_factory: Callable[[], int]) -> None:
    result = probe(f"127.0.0.1:{port_factory()}", ProbeKind.REDIS, timeout=1.0)
    assert result.reachable is False
    assert result.findings == []


@pytest.mark.parametrize("text", ["localhost", "127.0.0.1:0", "127.0.0.1:99999", "a b:1", ""])
def test_bad_targets_are_rejected(text: str) -> None:
    with pytest.raises(ProbeError):
        parse_target(text)


def test_ipv6_and_url_targets_parse() -> None:
    assert parse_target("[::1]:6379").label == "[::1]:6379"
    assert parse_target("https://127.0.0.1:9200/x").base_url == "https://127.0.0.1:9200"


# --------------------------------------------------------------------------- recorded-response servers


def test_elasticsearch_open_reports_index_and_document_counts() -> None:
    """Recorded Elasticsearch 7.17 responses (no Elasticsearch server is installable here)."""
    with http_server(ROUTES["es-open"]) as (port, hits):
        result = probe(f"127.0.0.1:{port}", ProbeKind.ELASTICSEARCH)
    _only(result.findings, "CV-PR-006")
    details = result.findings[0].details
    assert (details["indices"], details["documents"]) == (3, 250000012)
    assert "support-cases" not in result.findings[0].evidence  # counts, never names or values
    assert hits[0] == "/"
    assert hits[1].startswith("/_cat/indices?")


def test_elasticsearch_secured_is_not_reported() -> None:
    """Recorded 401 answers of a secured cluster."""
    with http_server(ROUTES["es-secured"]) as (port, _):
        result = probe(f"127.0.0.1:{port}", ProbeKind.ELASTICSEARCH)
    assert result.findings == []
    assert result.authenticated is True


def test_elasticsearch_is_autodetected_from_its_root_document() -> None:
    """Recorded responses on a non-standard port: autodetection reads the tagline."""
    with http_server(ROUTES["es-open"]) as (port, _):
        result = probe(f"127.0.0.1:{port}")
    assert result.kind is ProbeKind.ELASTICSEARCH


def test_redirects_are_not_followed() -> None:
    """A recorded redirect towards another server: the probe must not go there."""
    with http_server({"/": (200, {}, {})}) as (elsewhere, elsewhere_hits):
        redirect = {
            "/": (302, {"Location": f"http://127.0.0.1:{elsewhere}/"}, ""),
            "/_cat/indices": (302, {"Location": f"http://127.0.0.1:{elsewhere}/_cat/indices"}, ""),
        }
        with http_server(redirect) as (port, hits):
            result = probe(f"127.0.0.1:{port}", ProbeKind.ELASTICSEARCH)
    assert hits
    assert elsewhere_hits == []
    assert result.findings == []


def test_kibana_open_and_secured() -> None:
    """Recorded Kibana 7.17 /api/status answers."""
    with http_server(ROUTES["kibana-open"]) as (port, _):
        open_result = probe(f"127.0.0.1:{port}", ProbeKind.KIBANA)
    with http_server(ROUTES["kibana-secured"]) as (port, _):
        secured = probe(f"127.0.0.1:{port}", ProbeKind.KIBANA)
    _only(open_result.findings, "CV-PR-007")
    assert "7.17.9" in open_result.findings[0].evidence
    assert secured.findings == []


def test_kibana_is_autodetected_from_its_headers() -> None:
    """Recorded Kibana headers (kbn-name) on a non-standard port."""
    with http_server(ROUTES["kibana-open"]) as (port, _):
        assert probe(f"127.0.0.1:{port}").kind is ProbeKind.KIBANA


def test_couchdb_admin_party_and_secured() -> None:
    """Recorded CouchDB 3.3 answers: admin party serves /_node/_local/_config, a secured node says 401."""
    with http_server(ROUTES["couch-party"]) as (port, _):
        party = probe(f"127.0.0.1:{port}", ProbeKind.COUCHDB)
    with http_server(ROUTES["couch-secured"]) as (port, _):
        secured = probe(f"127.0.0.1:{port}", ProbeKind.COUCHDB)
    _only(party.findings, "CV-PR-008")
    assert party.findings[0].details["databases"] == 3
    assert secured.findings == []
    assert secured.authenticated is True


def test_mongodb_open_lists_databases_over_op_msg() -> None:
    """Recorded MongoDB 7.0 OP_MSG replies to hello and listDatabases."""
    with mongo_server(auth=False) as (port, commands):
        result = probe(f"127.0.0.1:{port}", ProbeKind.MONGODB)
    assert commands == ["hello", "listDatabases"]
    _only(result.findings, "CV-PR-010")
    assert result.findings[0].details == {"databases": 2, "bytes": 73768960, "max_wire_version": 21}


def test_mongodb_with_auth_is_not_reported() -> None:
    """Recorded MongoDB 7.0 Unauthorized (code 13) reply."""
    with mongo_server(auth=True) as (port, _):
        result = probe(f"127.0.0.1:{port}", ProbeKind.MONGODB)
    assert result.findings == []
    assert result.authenticated is True


def test_mongodb_is_autodetected_by_hello() -> None:
    """Recorded OP_MSG hello on a non-standard port."""
    with mongo_server(auth=False) as (port, _):
        assert probe(f"127.0.0.1:{port}").kind is ProbeKind.MONGODB


def test_bson_matches_the_specification_example() -> None:
    # the {"hello": "world"} example from the BSON specification
    expected = b"\x16\x00\x00\x00\x02hello\x00\x06\x00\x00\x00world\x00\x00"
    assert bson.encode({"hello": "world"}) == expected
    assert bson.decode(expected) == {"hello": "world"}
    nested = {"a": [1, 2.5, True, None, {"b": 2**40}]}
    assert bson.decode(bson.encode(nested)) == nested


# --------------------------------------------------------------------------- moto S3 server


@pytest.fixture
def s3_server(port_factory: Callable[[], int]) -> Iterator[int]:
    """moto's S3-compatible server (a real HTTP server from the moto package) on a free loopback port."""
    try:
        import moto.server  # noqa: F401 - only checks that the dev dependency is installed
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("moto[server] is a dev dependency and must be installed in CI")
        pytest.skip("moto[server] is not installed (.venv/bin/pip install 'moto[server]')")
    from exposure_helpers import stop, wait_for_port

    port = port_factory()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_for_port(port, deadline=60)
        yield port
    finally:
        stop(process)


def test_s3_anonymous_listing_is_reported(s3_server: int) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{s3_server}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket="support-exports")
    client.put_object(Bucket="support-exports", Key="cases-2019-12.csv", Body=b"secret,case,data")
    client.put_object(Bucket="support-exports", Key="notes-2019-12.csv", Body=b"more")
    result = probe(f"127.0.0.1:{s3_server}", ProbeKind.S3)
    _only(result.findings, "CV-PR-011")
    assert result.findings[0].details == {"buckets": 1, "listable": 1, "objects": 2}
    assert "secret,case,data" not in str(result.findings[0].to_dict())
