"""Terraform checks (HCL through python-hcl2, and .tf.json): firewalls, search domains, S3 buckets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hcl2

from casevault.exposure import catalogue as cat
from casevault.exposure import hclfast
from casevault.exposure.datastores import CORE_PORTS, address_scope, port_range_covers, store_from_port, truthy
from casevault.exposure.findings import Finding, Severity, make_finding
from casevault.exposure.orchestration import is_internal_lb

# Resource types that can produce a finding; files without any of them are not parsed at all.
RELEVANT_TYPES = (
    "azurerm_network_security_rule",
    "azurerm_network_security_group",
    "aws_security_group",
    "aws_security_group_rule",
    "aws_vpc_security_group_ingress_rule",
    "google_compute_firewall",
    "aws_elasticsearch_domain",
    "aws_opensearch_domain",
    "aws_elasticsearch_domain_policy",
    "aws_opensearch_domain_policy",
    "aws_s3_bucket",
    "aws_s3_bucket_acl",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_account_public_access_block",
    "kubernetes_service",
    "aws_db_instance",
    "aws_rds_cluster_instance",
    "_firewall_rule",
)
_RELEVANT_PATTERN = re.compile("|".join(RELEVANT_TYPES))


@dataclass
class Resource:
    """One Terraform resource with its body and where it was declared."""

    type: str
    name: str
    body: dict[str, Any]
    file: str
    line: int
    text: str = field(repr=False, default="")

    def line_of(self, attribute: str) -> int:
        """Line of `attribute = ...` inside this resource's block (the block line when not found)."""
        if not self.text:
            return self.line
        lines = self.text.splitlines()
        pattern = re.compile(rf'^\s*"?{re.escape(attribute)}"?\s*[=:{{]')
        for index in range(self.line, min(len(lines), self.line + 400)):
            if pattern.match(lines[index]):
                return index + 1
            if index > self.line and re.match(r"^(resource|data|module|variable|output)\s", lines[index]):
                break
        return self.line


@dataclass
class Module:
    """The resources and variable defaults of one directory (a Terraform module)."""

    resources: list[Resource] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    pending: list[tuple[str, str]] = field(default_factory=list)


def is_relevant(text: str) -> bool:
    """Cheap pre-filter: only files naming a checked resource type need the (slow) HCL parser."""
    return _RELEVANT_PATTERN.search(text) is not None


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes ('"Internet"'); remove them, recursively."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, dict):
        # __is_block__, __comments__ and __inline_comments__ are python-hcl2 metadata, not attributes
        return {
            unquote(key): unquote(item)
            for key, item in value.items()
            if not (isinstance(key, str) and key.startswith("__") and key.endswith("__"))
        }
    return value


def parse_hcl(path: str, text: str, module: Module) -> None:
    """Add the resources and variables of an HCL file to `module`; raises on syntax errors."""
    try:
        data = hclfast.loads(text)
    except hclfast.Unsupported:
        data = unquote(hcl2.loads(text))  # the reference parser for everything outside the fast subset
    for block in data.get("resource", []) or []:
        for rtype, named in block.items():
            for name, body in named.items():
                if isinstance(body, dict):
                    line = _block_line(text, rtype, name)
                    module.resources.append(Resource(rtype, name, body, path, line, text))
    for block in data.get("variable", []) or []:
        for name, body in block.items():
            if isinstance(body, dict) and "default" in body:
                module.variables[name] = body["default"]


def parse_tf_json(path: str, text: str, module: Module) -> None:
    """Add the resources of a .tf.json file (map or list forms) to `module`."""
    data = json.loads(text)
    blocks = data.get("resource", {}) if isinstance(data, dict) else {}
    for block in blocks if isinstance(blocks, list) else [blocks]:
        for rtype, named in (block or {}).items():
            for name, body in _json_named(named):
                for item in body if isinstance(body, list) else [body]:
                    if isinstance(item, dict):
                        line = _json_line(text, name)
                        module.resources.append(Resource(rtype, name, item, path, line, ""))
    variables = data.get("variable", {}) if isinstance(data, dict) else {}
    if isinstance(variables, dict):
        for name, body in variables.items():
            if isinstance(body, dict) and "default" in body:
                module.variables[name] = body["default"]


def _json_named(named: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(named, dict):
        yield from named.items()
    elif isinstance(named, list):
        for item in named:
            if isinstance(item, dict):
                yield from item.items()


def _block_line(text: str, rtype: str, name: str) -> int:
    match = re.search(rf'^\s*resource\s+"?{re.escape(rtype)}"?\s+"?{re.escape(name)}"?', text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _json_line(text: str, name: str) -> int:
    index = text.find(f'"{name}"')
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


# ----------------------------------------------------------------------------- values


def _resolve(value: Any, module: Module) -> Any:
    """Resolve `${var.NAME}` to the variable's default when the module declares one."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{var\.([A-Za-z0-9_-]+)\}", value.strip())
        if match and match.group(1) in module.variables:
            return module.variables[match.group(1)]
    if isinstance(value, list):
        resolved: list[Any] = []
        for item in value:
            item = _resolve(item, module)
            resolved.extend(item if isinstance(item, list) else [item])
        return resolved
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _blocks(value: Any) -> list[dict[str, Any]]:
    return [item for item in _as_list(value) if isinstance(item, dict)]


def _open_sources(values: Iterable[Any]) -> list[str]:
    return [str(value) for value in values if isinstance(value, str) and address_scope(value) == "any"]


# ----------------------------------------------------------------------------- firewalls


def _nsg_rule(resource: Resource, rule: dict[str, Any], module: Module, line: int) -> Finding | None:
    def get(key: str) -> Any:
        return _resolve(rule.get(key), module)

    if str(get("direction") or "").lower() != "inbound" or str(get("access") or "").lower() != "allow":
        return None
    if str(get("protocol") or "*").lower() not in {"tcp", "*", "any"}:
        return None
    sources = _as_list(get("source_address_prefix")) + _as_list(get("source_address_prefixes"))
    open_sources = _open_sources(sources)
    if not open_sources:
        return None
    port_specs = _as_list(get("destination_port_range")) + _as_list(get("destination_port_ranges"))
    ports = sorted(
        {port for spec in port_specs if isinstance(spec, (str, int)) for port in port_range_covers(str(spec))}
    )
    if not ports:
        return None
    stores = ", ".join(f"{port} ({store_from_port(port)})" for port in ports)
    name = get("name") or resource.name
    return make_finding(
        cat.TF_AZURE_NSG_OPEN,
        f"{resource.type}.{resource.name} rule {name}: Inbound Allow from {', '.join(open_sources)} to {stores}",
        file=resource.file,
        line=line,
        subject=f"{resource.type}.{resource.name}",
    )


def _sg_ingress(resource: Resource, rule: dict[str, Any], module: Module, line: int) -> Finding | None:
    def get(key: str) -> Any:
        return _resolve(rule.get(key), module)

    cidrs = _as_list(get("cidr_blocks")) + _as_list(get("ipv6_cidr_blocks"))
    cidrs += _as_list(get("cidr_ipv4")) + _as_list(get("cidr_ipv6"))
    open_sources = _open_sources(cidrs)
    if not open_sources:
        return None
    protocol = str(get("protocol") or get("ip_protocol") or "tcp").lower()
    if protocol in {"-1", "all"}:
        ports = list(port_range_covers("*"))
    elif protocol in {"tcp", "6"}:
        low, high = get("from_port"), get("to_port")
        try:
            ports = port_range_covers(f"{int(low)}-{int(high)}")
        except (TypeError, ValueError):
            return None
    else:
        return None
    if not ports:
        return None
    stores = ", ".join(f"{port} ({store_from_port(port)})" for port in ports)
    return make_finding(
        cat.TF_AWS_SG_OPEN,
        f"{resource.type}.{resource.name}: ingress from {', '.join(open_sources)} to {stores}",
        file=resource.file,
        line=line,
        subject=f"{resource.type}.{resource.name}",
    )


def _gcp_firewall(resource: Resource, module: Module) -> Finding | None:
    body = resource.body
    direction = str(_resolve(body.get("direction"), module) or "INGRESS").upper()
    if direction != "INGRESS":
        return None
    open_sources = _open_sources(_as_list(_resolve(body.get("source_ranges"), module)))
    if not open_sources:
        return None
    ports: set[int] = set()
    for allow in _blocks(body.get("allow")):
        protocol = str(allow.get("protocol") or "").lower()
        if protocol not in {"tcp", "all"}:
            continue
        specs = _as_list(allow.get("ports")) or ["*"]
        for spec in specs:
            ports.update(port_range_covers(str(spec)))
    if not ports:
        return None
    stores = ", ".join(f"{port} ({store_from_port(port)})" for port in sorted(ports))
    return make_finding(
        cat.TF_GCP_FIREWALL_OPEN,
        f"{resource.type}.{resource.name}: allow from {', '.join(open_sources)} to {stores}",
        file=resource.file,
        line=resource.line_of("source_ranges"),
        subject=f"{resource.type}.{resource.name}",
    )


# ----------------------------------------------------------------------------- search domains


def _policy_document(value: Any) -> Any:
    """Parse a policy given as JSON text or heredoc; `jsonencode({...})` comes back as an HCL object string."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    heredoc = re.match(r"^<<-?(\w+)\s*\n(.*)\n\s*\1\s*$", text, re.S)
    if heredoc:
        text = heredoc.group(2)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _public_principal(document: Any) -> bool:
    """True when an Allow statement names principal * with no Condition."""
    if isinstance(document, str):
        # jsonencode({...}) stays an HCL expression; look for its principal * the same structural way
        return bool(
            re.search(r'Principal"?\s*[:=]\s*(\{[^}]*AWS"?\s*[:=]\s*\[?\s*"\*"|"\*")', document)
            and re.search(r'Effect"?\s*[:=]\s*"Allow"', document)
            and "Condition" not in document
        )
    if not isinstance(document, dict):
        return False
    statements = document.get("Statement") or []
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict):
            aws = principal.get("AWS")
            if aws == "*" or (isinstance(aws, list) and "*" in aws):
                return True
    return False


def _search_domain(resource: Resource, module: Module) -> list[Finding]:
    body = resource.body
    subject = f"{resource.type}.{resource.name}"
    findings: list[Finding] = []

    def block(name: str) -> dict[str, Any]:
        blocks = _blocks(body.get(name))
        return blocks[0] if blocks else {}

    def flag(check: Any, evidence: str, attribute: str) -> None:
        findings.append(
            make_finding(
                check, f"{subject}: {evidence}", file=resource.file, line=resource.line_of(attribute), subject=subject
            )
        )

    if truthy(_resolve(block("encrypt_at_rest").get("enabled"), module)) is not True:
        flag(cat.TF_ES_NO_ENCRYPTION_AT_REST, "encrypt_at_rest not enabled", "encrypt_at_rest")
    if truthy(_resolve(block("node_to_node_encryption").get("enabled"), module)) is not True:
        flag(cat.TF_ES_NO_NODE_TO_NODE, "node_to_node_encryption not enabled", "node_to_node_encryption")
    if truthy(_resolve(block("domain_endpoint_options").get("enforce_https"), module)) is not True:
        flag(cat.TF_ES_NO_HTTPS, "domain_endpoint_options.enforce_https not true", "domain_endpoint_options")
    if truthy(_resolve(block("advanced_security_options").get("enabled"), module)) is not True:
        flag(
            cat.TF_ES_NO_FGAC,
            "advanced_security_options (fine-grained access control) not enabled",
            "advanced_security_options",
        )
    if _public_principal(_policy_document(body.get("access_policies"))):
        in_vpc = bool(_blocks(body.get("vpc_options")))
        flag(
            cat.TF_ES_PUBLIC_POLICY,
            "access_policies allow Principal * without a condition"
            + (" (inside a VPC)" if in_vpc else " on a public endpoint"),
            "access_policies",
        )
    return findings


# ----------------------------------------------------------------------------- S3

_PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
_PAB_FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _reference_names(value: Any) -> set[str]:
    """Resource names a bucket argument refers to (`${aws_s3_bucket.logs.id}` -> {'logs'}), or a literal."""
    text = str(value or "")
    names = set(re.findall(r"aws_s3_bucket\.([A-Za-z0-9_-]+)", text))
    if not names and text and "$" not in text:
        names.add(f"literal:{text}")
    return names


def _s3(module: Module) -> list[Finding]:
    findings: list[Finding] = []
    buckets = [r for r in module.resources if r.type == "aws_s3_bucket"]
    blocked: set[str] = set()
    account_block = any(r.type == "aws_s3_account_public_access_block" for r in module.resources)
    for resource in module.resources:
        subject = f"{resource.type}.{resource.name}"
        body = resource.body
        if resource.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}:
            acl = _resolve(body.get("acl"), module)
            if isinstance(acl, str) and acl in _PUBLIC_ACLS:
                findings.append(
                    make_finding(
                        cat.TF_S3_PUBLIC_ACL,
                        f"{subject}: acl = {acl}",
                        file=resource.file,
                        line=resource.line_of("acl"),
                        subject=subject,
                    )
                )
        if resource.type in {"aws_s3_bucket", "aws_s3_bucket_policy"} and _public_principal(
            _policy_document(body.get("policy"))
        ):
            findings.append(
                make_finding(
                    cat.TF_S3_PUBLIC_POLICY,
                    f"{subject}: policy allows Principal * without a condition",
                    file=resource.file,
                    line=resource.line_of("policy"),
                    subject=subject,
                )
            )
        if resource.type == "aws_s3_bucket_public_access_block":
            blocked |= _reference_names(body.get("bucket"))
            weak = [flag for flag in _PAB_FLAGS if truthy(_resolve(body.get(flag), module)) is not True]
            if weak:
                findings.append(
                    make_finding(
                        cat.TF_S3_WEAK_PUBLIC_ACCESS_BLOCK,
                        f"{subject}: {', '.join(weak)} not true",
                        file=resource.file,
                        line=resource.line_of(weak[0]),
                        subject=subject,
                    )
                )
    if not account_block:
        for bucket in buckets:
            literal = bucket.body.get("bucket")
            if bucket.name in blocked or (literal and f"literal:{literal}" in blocked):
                continue
            findings.append(
                make_finding(
                    cat.TF_S3_NO_PUBLIC_ACCESS_BLOCK,
                    f"aws_s3_bucket.{bucket.name}: no aws_s3_bucket_public_access_block in the module",
                    file=bucket.file,
                    line=bucket.line,
                    subject=f"aws_s3_bucket.{bucket.name}",
                )
            )
    return findings


# ----------------------------------------------------------------------------- entry point


def check_module(module: Module) -> list[Finding]:
    """All Terraform checks over the resources of one module (directory)."""
    findings: list[Finding] = []
    for resource in module.resources:
        body = resource.body
        if resource.type == "azurerm_network_security_rule":
            found = _nsg_rule(resource, body, module, resource.line_of("source_address_prefix"))
            findings.extend([found] if found else [])
        elif resource.type == "azurerm_network_security_group":
            for rule in _blocks(body.get("security_rule")):
                found = _nsg_rule(resource, rule, module, _rule_line(resource, rule))
                findings.extend([found] if found else [])
        elif resource.type == "aws_security_group":
            for rule in _blocks(body.get("ingress")):
                found = _sg_ingress(resource, rule, module, resource.line_of("ingress"))
                findings.extend([found] if found else [])
        elif resource.type == "aws_security_group_rule":
            if str(_resolve(body.get("type"), module)) == "ingress":
                found = _sg_ingress(resource, body, module, resource.line_of("cidr_blocks"))
                findings.extend([found] if found else [])
        elif resource.type == "aws_vpc_security_group_ingress_rule":
            found = _sg_ingress(resource, body, module, resource.line_of("cidr_ipv4"))
            findings.extend([found] if found else [])
        elif resource.type == "google_compute_firewall":
            found = _gcp_firewall(resource, module)
            findings.extend([found] if found else [])
        elif resource.type in {"aws_elasticsearch_domain", "aws_opensearch_domain"}:
            findings.extend(_search_domain(resource, module))
        elif resource.type in {
            "aws_elasticsearch_domain_policy",
            "aws_opensearch_domain_policy",
        } and _public_principal(_policy_document(body.get("access_policies"))):
            subject = f"{resource.type}.{resource.name}"
            findings.append(
                make_finding(
                    cat.TF_ES_PUBLIC_POLICY,
                    f"{subject}: access_policies allow Principal * without a condition",
                    file=resource.file,
                    line=resource.line_of("access_policies"),
                    subject=subject,
                )
            )
        elif resource.type in {"aws_db_instance", "aws_rds_cluster_instance"}:
            if truthy(_resolve(body.get("publicly_accessible"), module)) is True:
                subject = f"{resource.type}.{resource.name}"
                engine = _resolve(body.get("engine"), module)
                findings.append(
                    make_finding(
                        cat.TF_DB_PUBLIC,
                        f"{subject}: publicly_accessible = true"
                        + (f" (engine {engine})" if isinstance(engine, str) else ""),
                        file=resource.file,
                        line=resource.line_of("publicly_accessible"),
                        subject=subject,
                    )
                )
        elif resource.type.startswith("azurerm_") and resource.type.endswith("_firewall_rule"):
            start = str(_resolve(body.get("start_ip_address"), module) or "")
            end = str(_resolve(body.get("end_ip_address"), module) or "")
            if start == "0.0.0.0" and end == "255.255.255.255":  # noqa: S104 - compared, never bound
                subject = f"{resource.type}.{resource.name}"
                findings.append(
                    make_finding(
                        cat.TF_AZURE_DB_FIREWALL_OPEN,
                        f"{subject}: start_ip_address {start} to end_ip_address {end}",
                        file=resource.file,
                        line=resource.line_of("end_ip_address"),
                        subject=subject,
                    )
                )
        elif resource.type in {"kubernetes_service", "kubernetes_service_v1"}:
            found = _k8s_service(resource, module)
            findings.extend([found] if found else [])
    findings.extend(_s3(module))
    return findings


def _k8s_service(resource: Resource, module: Module) -> Finding | None:
    """kubernetes_service resources: a data-store port behind a LoadBalancer/NodePort without source ranges."""
    spec_blocks = _blocks(resource.body.get("spec"))
    if not spec_blocks:
        return None
    spec = spec_blocks[0]
    service_type = str(_resolve(spec.get("type"), module) or "ClusterIP")
    if service_type not in {"LoadBalancer", "NodePort"}:
        return None
    ranges = _as_list(_resolve(spec.get("load_balancer_source_ranges"), module))
    if service_type == "LoadBalancer" and ranges and not _open_sources(ranges):
        return None
    metadata = _blocks(resource.body.get("metadata"))
    annotations = metadata[0].get("annotations") if metadata else None
    if service_type == "LoadBalancer" and is_internal_lb(annotations):
        return None
    ports: list[int] = []
    for port_block in _blocks(spec.get("port")):
        for key in ("port", "target_port"):
            try:
                ports.append(int(_resolve(port_block.get(key), module)))
            except (TypeError, ValueError):
                continue
    stores = sorted({port for port in ports if port in CORE_PORTS})
    if not stores:
        return None
    subject = f"{resource.type}.{resource.name}"
    return make_finding(
        cat.K8S_SERVICE_EXPOSED,
        f"{subject}: type {service_type} on {', '.join(f'{p} ({store_from_port(p)})' for p in stores)}, "
        "no load_balancer_source_ranges",
        file=resource.file,
        line=resource.line_of("type"),
        subject=subject,
        severity=Severity.HIGH if service_type == "LoadBalancer" else Severity.MEDIUM,
    )


def _rule_line(resource: Resource, rule: dict[str, Any]) -> int:
    """The line of an inline security_rule, found by its name inside the resource block."""
    name = rule.get("name")
    if resource.text and isinstance(name, str):
        lines = resource.text.splitlines()
        for index in range(resource.line, min(len(lines), resource.line + 2000)):
            if re.search(rf'name\s*[=:]\s*"{re.escape(name)}"', lines[index]):
                return index + 1
    return resource.line_of("security_rule")
