"""Parsing details: the fast HCL reader agrees with python-hcl2, YAML keeps lines through anchors and
documents, compose ports, file recognition by name and content, and files that must not crash the scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from casevault.exposure import FileKind, classify, hclfast, scan_paths
from casevault.exposure.orchestration import parse_port
from casevault.exposure.terraform import unquote
from casevault.exposure.yamldoc import load_documents

FIXTURES = Path(__file__).parent / "fixtures"

HCL_SAMPLES = [
    'a = true\nb = null\nc = 1.5\nd = -3\ne = [1, "x", var.y]\n',
    'resource "aws_s3_bucket" "b" {\n  bucket = "x-${var.env}"\n  tags = { Name = "n", "k" = 2 }\n}\n',
    'resource "aws_security_group" "sg" {\n  ingress {\n    from_port = 1\n    to_port = 2\n    cidr_blocks = [\n'
    '      "0.0.0.0/0",\n      var.extra,\n    ]\n  }\n  ingress {\n    from_port = 3\n  }\n}\n',
    'variable "v" {\n  type = list(string)\n  default = ["a", "b"]\n}\n',
    'locals {\n  x = var.a ? 1 : 2\n  y = [for s in var.list : upper(s)]\n  z = lookup(var.m, "k", "d")\n}\n',
    'resource "aws_opensearch_domain" "d" {\n  access_policies = <<POLICY\n{"Statement": []}\nPOLICY\n}\n',
    '# comment\n// another\n/* block\n comment */\nmodule "m" {\n  source = "./m"\n  count = 2\n}\n',
    'resource "aws_iam_policy" "p" {\n  policy = jsonencode({\n    Version = "2012-10-17"\n  })\n}\n',
]


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, str) and value.startswith("${"):
        return "<expression>"
    return value


def _tf_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.tf") if "broken" not in p.parts)


@pytest.mark.parametrize("text", HCL_SAMPLES + [p.read_text() for p in _tf_fixtures()])
def test_fast_reader_agrees_with_python_hcl2(text: str) -> None:
    assert _normalise(hclfast.loads(text)) == _normalise(unquote(hcl2.loads(text)))


@pytest.mark.parametrize(
    "text",
    ['a = "x\\"y"\n', 'a = "%{ if true }x%{ endif }"\n', "a = \n", "resource {\n", "a = (1\n"],
)
def test_fast_reader_refuses_what_it_does_not_handle(text: str) -> None:
    with pytest.raises(hclfast.Unsupported):
        hclfast.loads(text)


def test_escaped_strings_still_work_through_python_hcl2(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "azurerm_network_security_rule" "r" {\n  name = "a\\"b"\n  direction = "Inbound"\n'
        '  access = "Allow"\n  protocol = "Tcp"\n  source_address_prefix = "Internet"\n'
        '  destination_port_range = "27017"\n}\n'
    )
    (finding,) = scan_paths([tmp_path]).findings
    assert finding.check_id == "CV-TF-001"
    assert "27017 (mongodb)" in finding.evidence


def test_variable_defaults_from_another_file_are_resolved(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text('variable "admin_cidr" {\n  default = "0.0.0.0/0"\n}\n')
    (tmp_path / "sg.tf").write_text(
        'resource "aws_security_group_rule" "pg" {\n  type = "ingress"\n  from_port = 5432\n  to_port = 5432\n'
        '  protocol = "tcp"\n  cidr_blocks = [var.admin_cidr]\n}\n'
    )
    assert [f.check_id for f in scan_paths([tmp_path]).findings] == ["CV-TF-002"]


def test_yaml_lines_survive_anchors_merges_and_documents() -> None:
    with pytest.raises(yaml.YAMLError, match="alias"):  # anchors do not cross documents
        load_documents("base: &b\n  port: 6379\n---\nsvc:\n  <<: *b\n  name: x\n")
    first, second = load_documents("a: &x\n  k: 1\nb: *x\n---\nc:\n  - 1\n  - two\n")
    assert first["b"] == {"k": 1}
    assert first.lines["b"] == 3
    assert second["c"].lines == [6, 7]


@pytest.mark.parametrize(
    ("entry", "host", "port"),
    [
        ("6379:6379", "", 6379),
        ("127.0.0.1:6379:6379", "127.0.0.1", 6379),
        ("0.0.0.0:9200:9200/tcp", "0.0.0.0", 9200),  # noqa: S104 - an address in test data, nothing binds to it
        ("[::1]:5432:5432", "::1", 5432),
        ("9200-9300:9200-9300", "", 9200),
        ("${BIND:-127.0.0.1}:6379:6379", "127.0.0.1", 6379),
        ("${BIND}:6379:6379", "${unknown}", 6379),
        (27017, "", 27017),
        ({"target": 5432, "published": 5432, "host_ip": "127.0.0.1"}, "127.0.0.1", 5432),
    ],
)
def test_compose_port_forms(entry: Any, host: str, port: int) -> None:
    parsed = parse_port(entry, 1)
    assert parsed is not None
    assert (parsed.host_ip, parsed.container_port) == (host, port)


@pytest.mark.parametrize(
    ("name", "head", "kind"),
    [
        ("main.tf", "", FileKind.TERRAFORM),
        ("main.tf.json", "", FileKind.TERRAFORM_JSON),
        ("values-prod.yaml", "", FileKind.YAML),
        ("compose.yaml", "", FileKind.YAML),
        ("opensearch.yml", "", FileKind.ELASTICSEARCH),
        ("redis-6380.conf", "", FileKind.REDIS),
        ("cache.conf", "bind 0.0.0.0\nprotected-mode no\n", FileKind.REDIS),
        ("hba.conf", "host all all 0.0.0.0/0 md5\n", FileKind.PG_HBA),
        ("custom.conf", "listen_addresses = '*'\n", FileKind.POSTGRESQL_CONF),
        ("local.ini", "[chttpd]\nbind_address = 0.0.0.0\n", FileKind.COUCHDB),
        ("setup.ini", "[metadata]\nname = x\n", FileKind.UNKNOWN),
        ("svc.json", '{"apiVersion": "v1", "kind": "Service"}', FileKind.JSON),
        ("README.md", "", FileKind.UNKNOWN),
    ],
)
def test_files_are_recognised_by_name_and_content(name: str, head: str, kind: FileKind) -> None:
    assert classify(Path("repo") / name, head) is kind


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe\x00garbage",
        b"services: [unclosed\n",
        b"- just\n- a list\n",
        b"apiVersion: v1\nkind: Service\nspec: 7\n",
        b"services:\n  x: 5\n",
        b"a: !!python/object:os.system ls\n",
        b"key: &a [*a]\n",
        b"",
    ],
)
def test_odd_yaml_never_crashes_the_scan(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "docker-compose.yml").write_bytes(content)
    (tmp_path / "redis.conf").write_text("bind 0.0.0.0\nprotected-mode no\n")
    result = scan_paths([tmp_path], base=tmp_path)
    assert result.files_seen == 2
    assert "CV-RD-001" in {f.check_id for f in result.findings}
    assert {f.check_id for f in result.findings if f.file == "docker-compose.yml"} <= {"CV-GEN-001"}


def test_json_kubernetes_manifest_is_checked(tmp_path: Path) -> None:
    (tmp_path / "svc.json").write_text(
        '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mongo"},'
        ' "spec": {"type": "LoadBalancer", "ports": [{"port": 27017}]}}'
    )
    assert [f.check_id for f in scan_paths([tmp_path]).findings] == ["CV-K8-001"]


LAUGHS = "\n".join(
    ["a0: &a0 {k: v, network.host: 0.0.0.0}"]
    + [f"a{n}: &a{n} {{" + ", ".join(f"x{i}: *a{n - 1}" for i in range(10)) + "}" for n in range(1, 9)]
    + ["service: {type: LoadBalancer}", "image: {repository: redis}"]
)


@pytest.mark.parametrize("name", ["values.yaml", "elasticsearch.yml", "docker-compose.yml"])
def test_alias_bombs_are_bounded(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(LAUGHS)
    result = scan_paths([tmp_path])  # 10^8 paths if walked naively; must finish at once
    assert result.files_seen == 1
