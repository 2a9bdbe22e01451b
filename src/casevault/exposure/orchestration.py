"""Checks of docker compose files, Kubernetes manifests and Helm values."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from casevault.exposure import catalogue as cat
from casevault.exposure.datastores import (
    CORE_PORTS,
    DATASTORE_PORTS,
    address_scope,
    auth_disabling_env,
    command_args,
    env_to_map,
    image_version,
    redis_command_auth,
    store_from_path,
    store_from_port,
    store_from_text,
    store_from_words,
    truthy,
)
from casevault.exposure.findings import Finding, Severity, make_finding
from casevault.exposure.stores import check_elasticsearch, check_mongod, check_pg_hba, check_redis
from casevault.exposure.yamldoc import LineDict, line_of

# ----------------------------------------------------------------------------- docker compose


@dataclass(frozen=True)
class PublishedPort:
    """A `ports:` entry: host address ('' = all interfaces), container port, and its line."""

    host_ip: str
    container_port: int | None
    text: str
    line: int


_INTERPOLATION_DEFAULT = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-=])([^}]*)\}$")


def _resolve_default(value: str) -> str | None:
    """`${BIND:-127.0.0.1}` -> '127.0.0.1'; other interpolations -> None (unknown)."""
    if "$" not in value:
        return value
    match = _INTERPOLATION_DEFAULT.match(value)
    return match.group(1) if match else None


def _first_port(text: str) -> int | None:
    match = re.match(r"\s*(\d+)", text)
    return int(match.group(1)) if match else None


def parse_port(entry: Any, line: int) -> PublishedPort | None:
    """Parse the short ('127.0.0.1:6379:6379', '6379') and long (target/published/host_ip) forms."""
    if isinstance(entry, int):
        return PublishedPort("", entry, str(entry), line)
    if isinstance(entry, dict):
        target = entry.get("target")
        host_ip = str(entry.get("host_ip") or "")
        if entry.get("published") is None and entry.get("mode") != "host" and target is None:
            return None
        port = target if isinstance(target, int) else _first_port(str(target or ""))
        return PublishedPort(host_ip, port, f"target {target} published {entry.get('published')}", line)
    if not isinstance(entry, str):
        return None
    text = entry.strip()
    spec = text.split("/", 1)[0]
    host_ip = ""
    if spec.startswith("["):
        closing = spec.find("]")
        host_ip, spec = spec[1:closing], spec[closing + 2 :]
    elif spec.startswith("${"):
        # interpolated host part, e.g. "${BIND_ADDR:-127.0.0.1}:6379:6379"
        closing = spec.find("}")
        head, spec = spec[: closing + 1], spec[closing + 2 :]
        if spec.count(":") >= 1:
            host_ip = _resolve_default(head) or "${unknown}"
        else:
            spec = f"{head}:{spec}"
    else:
        parts = spec.rsplit(":", 2)
        if len(parts) == 3:
            host_ip = parts[0]
            spec = f"{parts[1]}:{parts[2]}"
    container = spec.rsplit(":", 1)[-1]
    return PublishedPort(host_ip, _first_port(container), text, line)


def _published_scope(port: PublishedPort) -> str:
    if port.host_ip == "":
        return "any"
    if "$" in port.host_ip:
        return "unknown"
    return address_scope(port.host_ip)


def _service_store(name: str, service: dict[str, Any]) -> str | None:
    image = service.get("image")
    if isinstance(image, str) and image.strip():
        store = store_from_text(image)
        if store is not None:
            return store
        if "$" not in image:
            return None  # a named image that is not a store: ports alone do not make it one
    return store_from_text(name) or store_from_words(str(service.get("container_name") or ""))


def is_compose(document: Any) -> bool:
    """True when a YAML document looks like a compose file (services with image/build/ports)."""
    if not isinstance(document, dict):
        return False
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        return False
    return any(
        isinstance(service, dict) and bool({"image", "build", "ports", "environment", "command"} & set(service))
        for service in services.values()
    )


def check_compose(path: str, document: Any) -> list[Finding]:
    """docker compose: stores published on all interfaces, auth-disabling environment, host networking."""
    findings: list[Finding] = []
    services = document.get("services") or {}
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        findings.extend(_check_compose_service(path, str(name), service, services))
    return findings


def _check_compose_service(path: str, name: str, service: dict[str, Any], services: Any) -> list[Finding]:
    findings: list[Finding] = []
    store = _service_store(name, service)
    exposed_line: int | None = None
    ports = service.get("ports")
    if isinstance(ports, list):
        for index, entry in enumerate(ports):
            port = parse_port(entry, line_of(ports, index, line_of(service, "ports")) or 1)
            if port is None or port.container_port is None:
                continue
            port_store = store or (store_from_port(port.container_port) if port.container_port in CORE_PORTS else None)
            if port_store is None:
                continue
            if store is not None and port.container_port not in DATASTORE_PORTS and store != "kibana":
                # a store's side port (metrics, admin UI on another port) is not its data port
                continue
            scope = _published_scope(port)
            if scope not in {"any", "public"}:
                continue
            exposed_line = exposed_line or port.line
            findings.append(
                make_finding(
                    cat.COMPOSE_PORT_ALL,
                    f'service {name} ({port_store}) ports: "{port.text}"',
                    file=path,
                    line=port.line,
                    subject=name,
                )
            )
    if store is not None and str(service.get("network_mode", "")).strip() == "host":
        exposed_line = exposed_line or line_of(service, "network_mode")
        findings.append(
            make_finding(
                cat.COMPOSE_HOST_NETWORK,
                f"service {name} ({store}) network_mode: host",
                file=path,
                line=line_of(service, "network_mode"),
                subject=name,
            )
        )
    environment = service.get("environment")
    env = env_to_map(environment)
    env_line = line_of(service, "environment") or line_of(service, "image") or 1
    for setting in auth_disabling_env(env):
        line = _env_line(environment, setting.name) or env_line
        findings.append(
            make_finding(
                cat.COMPOSE_AUTH_DISABLED,
                f"service {name}: {setting.name} ({setting.reason})",
                file=path,
                line=line,
                subject=name,
            )
        )
    words = command_args(service.get("command")) + command_args(service.get("entrypoint"))
    has_password, protected_off = redis_command_auth(words)
    if protected_off and not has_password:
        findings.append(
            make_finding(
                cat.COMPOSE_AUTH_DISABLED,
                f"service {name}: --protected-mode no without --requirepass",
                file=path,
                line=line_of(service, "command") or env_line,
                subject=name,
            )
        )
    if exposed_line is not None and store is not None and not any(f.check_id == "CV-DC-002" for f in findings):
        reason = _default_no_auth(store, service.get("image"), env, words)
        if reason is not None:
            findings.append(
                make_finding(
                    cat.COMPOSE_AUTH_DEFAULT_OFF,
                    f"service {name}: {reason}",
                    file=path,
                    line=line_of(service, "image") or exposed_line,
                    subject=name,
                )
            )
    return findings


def _env_line(environment: Any, name: str) -> int | None:
    if isinstance(environment, LineDict):
        return environment.lines.get(name)
    if isinstance(environment, list):
        for index, item in enumerate(environment):
            if isinstance(item, str) and item.split("=", 1)[0].strip() == name:
                return line_of(environment, index)
            if isinstance(item, dict) and item.get("name") == name:
                return line_of(environment, index)
    return None


def _default_no_auth(store: str, image: Any, env: dict[str, str], words: list[str]) -> str | None:
    """Why a store image starts without authentication when nothing configures it, or None."""
    image_text = str(image or "").lower()
    upper = {key.upper() for key in env}
    if any(word.endswith((".conf", ".yml")) for word in words):
        return None  # a mounted configuration file decides; it is checked on its own
    if store == "redis" and "bitnami" not in image_text:
        if redis_command_auth(words)[0] or {"REDIS_PASSWORD", "REDIS_ARGS"} & upper:
            return None
        return "redis image without --requirepass (no password by default)"
    if store == "memcached" and not any(word in {"-S", "--enable-sasl"} for word in words):
        return "memcached has no authentication unless started with -S"
    if store == "mongodb" and "bitnami" not in image_text:
        if {"MONGO_INITDB_ROOT_USERNAME", "MONGODB_INITDB_ROOT_USERNAME"} & upper or "--auth" in words:
            return None
        return "mongo image without MONGO_INITDB_ROOT_USERNAME (no access control by default)"
    if store == "elasticsearch":
        version = image_version(image_text)
        enabled = {key.lower(): value for key, value in env.items()}.get("xpack.security.enabled")
        if version is not None and version[0] < 8 and truthy(enabled) is not True:
            return f"Elasticsearch {'.'.join(map(str, version))} without xpack.security.enabled=true (off by default)"
    return None


# ----------------------------------------------------------------------------- Kubernetes


def is_kubernetes(document: Any) -> bool:
    """True for a Kubernetes object (apiVersion + kind)."""
    return isinstance(document, dict) and "apiVersion" in document and "kind" in document


_INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "*",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
    "service.beta.kubernetes.io/oci-load-balancer-internal": "true",
    "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type": "private",
    "service.beta.kubernetes.io/openstack-internal-load-balancer": "true",
}
_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob"}
_INGRESS_AUTH_ANNOTATIONS = (
    "nginx.ingress.kubernetes.io/auth-type",
    "nginx.ingress.kubernetes.io/auth-url",
    "traefik.ingress.kubernetes.io/router.middlewares",
    "alb.ingress.kubernetes.io/auth-type",
    "nginx.ingress.kubernetes.io/whitelist-source-range",
    "nginx.ingress.kubernetes.io/allowlist-source-range",
)


def is_internal_lb(annotations: Any) -> bool:
    """True when load-balancer annotations ask the cloud for an internal (private) load balancer."""
    if not isinstance(annotations, dict):
        return False
    for key, expected in _INTERNAL_LB_ANNOTATIONS.items():
        value = annotations.get(key)
        if value is None:
            continue
        text = str(value).strip().lower()
        if expected == "*" or text == expected or (truthy(text) is True and expected == "true"):
            return True
    return False


def _ranges_open(ranges: Any) -> bool:
    if not isinstance(ranges, list) or not ranges:
        return True
    return any(address_scope(str(item)) == "any" for item in ranges)


def _k8s_objects(documents: list[Any]) -> Iterator[dict[str, Any]]:
    for document in documents:
        if not is_kubernetes(document):
            continue
        if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
            yield from (item for item in document["items"] if is_kubernetes(item))
        else:
            yield document


def _labels_text(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    parts = [str(metadata.get("name") or "")]
    for source in (metadata.get("labels"), (obj.get("spec") or {}).get("selector")):
        if isinstance(source, dict):
            parts.extend(str(value) for value in source.values() if isinstance(value, str))
    return " ".join(parts)


def _service_port_store(port: dict[str, Any]) -> str | None:
    for key in ("port", "targetPort"):
        value = port.get(key)
        if isinstance(value, int) and value in CORE_PORTS:
            return store_from_port(value)
    name = port.get("name")
    return store_from_text(str(name)) if isinstance(name, str) else None


def check_kubernetes(path: str, documents: list[Any]) -> list[Finding]:
    """Services of type LoadBalancer/NodePort, Ingresses and pods that expose or unlock a data store."""
    findings: list[Finding] = []
    for obj in _k8s_objects(documents):
        kind = str(obj.get("kind"))
        if kind == "Service":
            findings.extend(_check_service(path, obj))
        elif kind == "Ingress":
            findings.extend(_check_ingress(path, obj))
        elif kind in _WORKLOAD_KINDS:
            findings.extend(_check_workload(path, obj))
        elif kind == "ConfigMap":
            findings.extend(_check_configmap(path, obj))
        elif kind in {"Elasticsearch", "Kibana"} and "k8s.elastic.co" in str(obj.get("apiVersion")):
            findings.extend(_check_eck(path, obj))
    return findings


def _check_eck(path: str, obj: dict[str, Any]) -> list[Finding]:
    """Elastic Cloud on Kubernetes: the http Service type and each nodeSet's elasticsearch.yml settings."""
    findings: list[Finding] = []
    raw_spec = obj.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    name = (obj.get("metadata") or {}).get("name")
    service_spec = ((spec.get("http") or {}).get("service") or {}).get("spec") or {}
    service_type = str(service_spec.get("type") or "ClusterIP")
    annotations = (((spec.get("http") or {}).get("service") or {}).get("metadata") or {}).get("annotations")
    if service_type in {"LoadBalancer", "NodePort"} and not (
        service_type == "LoadBalancer"
        and (is_internal_lb(annotations) or not _ranges_open(service_spec.get("loadBalancerSourceRanges")))
    ):
        findings.append(
            make_finding(
                cat.K8S_SERVICE_EXPOSED,
                f"{obj.get('kind')} {name} (ECK) http.service type {service_type}, no loadBalancerSourceRanges",
                file=path,
                line=line_of(service_spec, "type"),
                severity=Severity.HIGH if service_type == "LoadBalancer" else Severity.MEDIUM,
            )
        )
    for node_set in spec.get("nodeSets") or []:
        config = node_set.get("config") if isinstance(node_set, dict) else None
        if not isinstance(config, dict):
            continue
        security = config.get("xpack.security.enabled")
        xpack = config.get("xpack")
        if security is None and isinstance(xpack, dict) and isinstance(xpack.get("security"), dict):
            security = xpack["security"].get("enabled")
        if truthy(security) is False:
            findings.append(
                make_finding(
                    cat.K8S_AUTH_DISABLED,
                    f"Elasticsearch {name} (ECK) nodeSet {node_set.get('name')}: xpack.security.enabled: false",
                    file=path,
                    line=line_of(config, "xpack.security.enabled") or line_of(node_set, "config"),
                )
            )
    return findings


def _check_service(path: str, obj: dict[str, Any]) -> list[Finding]:
    spec = obj.get("spec")
    metadata = obj.get("metadata") or {}
    if not isinstance(spec, dict):
        return []
    service_type = str(spec.get("type") or "ClusterIP")
    external_ips = spec.get("externalIPs")
    if service_type not in {"LoadBalancer", "NodePort"} and not external_ips:
        return []
    if service_type == "LoadBalancer" and (
        is_internal_lb(metadata.get("annotations")) or not _ranges_open(spec.get("loadBalancerSourceRanges"))
    ):
        return []
    raw_ports = spec.get("ports")
    ports: list[Any] = raw_ports if isinstance(raw_ports, list) else []
    name_store = store_from_words(_labels_text(obj))
    for port in ports:
        if not isinstance(port, dict):
            continue
        store = _service_port_store(port) or name_store
        if store is None:
            continue
        exposed_how = service_type if service_type in {"LoadBalancer", "NodePort"} else "externalIPs"
        return [
            make_finding(
                cat.K8S_SERVICE_EXPOSED,
                f"Service {metadata.get('name')} ({store}) type {exposed_how}, port {port.get('port')}, "
                "no loadBalancerSourceRanges",
                file=path,
                line=line_of(spec, "type") or line_of(obj, "spec"),
                severity=Severity.HIGH if exposed_how == "LoadBalancer" else Severity.MEDIUM,
            )
        ]
    return []


def _ingress_backends(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, Any]]:
    def backend_of(holder: Any) -> tuple[dict[str, Any], str, Any] | None:
        backend = holder.get("backend") if isinstance(holder, dict) else None
        if not isinstance(backend, dict):
            return None
        service = backend.get("service")
        if isinstance(service, dict):
            port = service.get("port") or {}
            number = port.get("number") if isinstance(port, dict) else None
            name = port.get("name") if isinstance(port, dict) else None
            return backend, str(service.get("name") or ""), number or name
        return backend, str(backend.get("serviceName") or ""), backend.get("servicePort")

    default = spec.get("defaultBackend") or spec.get("backend")
    if isinstance(default, dict):
        found = backend_of({"backend": default})
        if found:
            yield found
    for rule in spec.get("rules") or []:
        http = rule.get("http") if isinstance(rule, dict) else None
        for item in (http or {}).get("paths") or []:
            found = backend_of(item)
            if found:
                yield found


def _check_ingress(path: str, obj: dict[str, Any]) -> list[Finding]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    metadata = obj.get("metadata") or {}
    raw_annotations = metadata.get("annotations")
    annotations: dict[str, Any] = raw_annotations if isinstance(raw_annotations, dict) else {}
    for backend, service_name, port in _ingress_backends(spec):
        store = None
        if isinstance(port, int) and port in CORE_PORTS:
            store = store_from_port(port)
        store = store or store_from_text(service_name) or (store_from_text(str(port)) if port else None)
        if store is None:
            continue
        has_auth = any(key in annotations for key in _INGRESS_AUTH_ANNOTATIONS)
        return [
            make_finding(
                cat.K8S_INGRESS_DATASTORE,
                f"Ingress {metadata.get('name')} routes to service {service_name} ({store}) port {port}"
                + (" behind an auth or source-range annotation" if has_auth else ""),
                file=path,
                line=backend.line if isinstance(backend, LineDict) else line_of(obj, "spec"),
                severity=Severity.LOW if has_auth else Severity.HIGH,
            )
        ]
    return []


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    if obj.get("kind") == "Pod":
        return spec
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {}) if isinstance(spec, dict) else {}
    template = spec.get("template") if isinstance(spec, dict) else None
    inner = template.get("spec") if isinstance(template, dict) else None
    return inner if isinstance(inner, dict) else None


def _check_workload(path: str, obj: dict[str, Any]) -> list[Finding]:
    pod = _pod_spec(obj)
    if pod is None:
        return []
    findings: list[Finding] = []
    name = (obj.get("metadata") or {}).get("name")
    containers = [c for c in (pod.get("containers") or []) + (pod.get("initContainers") or []) if isinstance(c, dict)]
    for container in containers:
        store = store_from_text(str(container.get("image") or ""))
        env = env_to_map(container.get("env"))
        for setting in auth_disabling_env(env):
            findings.append(
                make_finding(
                    cat.K8S_AUTH_DISABLED,
                    f"{obj.get('kind')} {name} container {container.get('name')}: {setting.name} ({setting.reason})",
                    file=path,
                    line=_env_line(container.get("env"), setting.name) or line_of(container, "env"),
                )
            )
        words = command_args(container.get("command")) + command_args(container.get("args"))
        has_password, protected_off = redis_command_auth(words)
        if protected_off and not has_password:
            findings.append(
                make_finding(
                    cat.K8S_AUTH_DISABLED,
                    f"{obj.get('kind')} {name} container {container.get('name')}: --protected-mode no "
                    "without --requirepass",
                    file=path,
                    line=line_of(container, "args") or line_of(container, "command"),
                )
            )
        if store is not None and truthy(pod.get("hostNetwork")) is True:
            findings.append(
                make_finding(
                    cat.K8S_HOST_NETWORK,
                    f"{obj.get('kind')} {name} ({store}) hostNetwork: true",
                    file=path,
                    line=line_of(pod, "hostNetwork"),
                )
            )
    return findings


_EMBEDDED: dict[str, Callable[..., list[Finding]]] = {
    "elasticsearch.yml": check_elasticsearch,
    "opensearch.yml": check_elasticsearch,
    "redis.conf": check_redis,
    "mongod.conf": check_mongod,
    "pg_hba.conf": check_pg_hba,
}


def check_embedded(path: str, holder: Any) -> list[Finding]:
    """Check configuration files embedded as text (ConfigMap data, Helm esConfig/config blocks)."""
    findings: list[Finding] = []
    if not isinstance(holder, dict):
        return findings
    for key, value in holder.items():
        checker = _EMBEDDED.get(str(key).lower())
        if checker is None or not isinstance(value, str):
            continue
        offset = holder.lines.get(key, 0) if isinstance(holder, LineDict) else 0
        try:
            findings.extend(checker(path, value, line_offset=offset))
        except Exception:  # noqa: S112 - embedded text that does not parse is simply not checked
            continue
    return findings


def _check_configmap(path: str, obj: dict[str, Any]) -> list[Finding]:
    return check_embedded(path, obj.get("data"))


# ----------------------------------------------------------------------------- Helm values

MAX_VALUES_MAPPINGS = 20_000
_HELM_HINT_KEYS = {"service", "image", "auth", "master", "replica", "architecture", "externalAccess", "esConfig"}


def looks_like_helm_values(path: str, document: Any) -> bool:
    """Values files by name, by a Chart.yaml beside them, or by chart-shaped top-level keys."""
    name = PurePath(path).name.lower()
    if "values" in name:
        return True
    if not isinstance(document, dict):
        return False
    return bool(_HELM_HINT_KEYS & {str(key) for key in document})


def check_helm_values(path: str, document: Any, *, chart_store: str | None = None) -> list[Finding]:
    """Helm values: store Services of type LoadBalancer/NodePort without ranges, auth switched off."""
    if not isinstance(document, dict):
        return []
    store = chart_store or _values_store(document) or store_from_path(path)
    findings: list[Finding] = []
    _walk_values(path, document, store, findings, depth=0, budget=[MAX_VALUES_MAPPINGS])
    return findings


def _values_store(mapping: dict[str, Any]) -> str | None:
    image = mapping.get("image")
    if isinstance(image, dict):
        repository = image.get("repository") or image.get("name")
        if isinstance(repository, str):
            return store_from_text(repository)
    if isinstance(image, str):
        return store_from_text(image)
    for key in ("nameOverride", "fullnameOverride"):
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return store_from_words(value)
    return None


def _walk_values(
    path: str, mapping: dict[str, Any], store: str | None, findings: list[Finding], depth: int, budget: list[int]
) -> None:
    # aliases can repeat one mapping many times; the budget bounds the walk whatever the file says
    budget[0] -= 1
    if depth > 8 or budget[0] < 0:
        return
    for key, value in mapping.items():
        if not isinstance(value, dict):
            if key in {"extraEnvVars", "extraEnvs", "env", "extraEnv"} and isinstance(value, list) and store:
                _helm_env(path, value, store, findings)
            continue
        child_store = store_from_text(str(key)) if str(key) not in {"image"} else None
        context = _values_store(value) or child_store or store
        if str(key) in {"metrics", "exporter", "dashboard", "ui", "sidecar"}:
            context = None  # side components of a store chart are not the store's data port
        key_text = str(key)
        if key_text in {"service", "externalService"} or key_text.endswith("Service"):
            _helm_service(path, mapping, key_text, value, context, findings)
        elif key_text == "auth" and context is not None:
            enabled = value.get("enabled")
            if truthy(enabled) is False:
                findings.append(
                    make_finding(
                        cat.HELM_AUTH_DISABLED,
                        f"{context}: auth.enabled: false",
                        file=path,
                        line=value.line_of("enabled") if isinstance(value, LineDict) else None,
                    )
                )
        elif key_text in {"esConfig", "config", "configuration", "extraConfig"}:
            findings.extend(check_embedded(path, value))
        elif key_text == "security" and context in {"elasticsearch", "opensearch"}:
            if truthy(value.get("enabled")) is False:
                findings.append(
                    make_finding(
                        cat.HELM_AUTH_DISABLED,
                        f"{context}: security.enabled: false",
                        file=path,
                        line=value.line_of("enabled") if isinstance(value, LineDict) else None,
                    )
                )
        elif key_text == "ingress" and context is not None and truthy(value.get("enabled")) is True:
            findings.append(
                make_finding(
                    cat.HELM_SERVICE_EXPOSED,
                    f"{context}: ingress.enabled: true",
                    file=path,
                    line=value.line_of("enabled") if isinstance(value, LineDict) else None,
                    title="Helm values publish a data store through an Ingress",
                )
            )
        if key_text not in {"auth", "security"} and truthy(value.get("enabled")) is not False:
            # a section switched off (enabled: false) renders nothing, so nothing below it is exposed
            _walk_values(path, value, context, findings, depth + 1, budget)
    if store is not None:
        for flag in ("usePassword", "usePasswordFile"):
            if flag == "usePassword" and truthy(mapping.get(flag)) is False:
                findings.append(
                    make_finding(
                        cat.HELM_AUTH_DISABLED,
                        f"{store}: usePassword: false",
                        file=path,
                        line=line_of(mapping, flag),
                    )
                )


def _helm_service(
    path: str, parent: dict[str, Any], key: str, service: dict[str, Any], store: str | None, findings: list[Finding]
) -> None:
    service_type = str(service.get("type") or "")
    if service_type not in {"LoadBalancer", "NodePort"}:
        return
    port_store = None
    for port_key in ("port", "ports", "nodePorts"):
        port_value = service.get(port_key)
        values = port_value.values() if isinstance(port_value, dict) else [port_value]
        for value in values:
            if isinstance(value, int) and value in CORE_PORTS:
                port_store = port_store or store_from_port(value)
    context = store or port_store
    if context is None:
        return
    if service_type == "LoadBalancer" and (
        is_internal_lb(service.get("annotations")) or not _ranges_open(service.get("loadBalancerSourceRanges"))
    ):
        return
    if truthy(parent.get("enabled")) is False:
        return  # e.g. bitnami externalAccess.enabled: false keeps a LoadBalancer template unused
    findings.append(
        make_finding(
            cat.HELM_SERVICE_EXPOSED,
            f"{context}: {key}.type: {service_type} without loadBalancerSourceRanges",
            file=path,
            line=service.line_of("type") if isinstance(service, LineDict) else None,
            severity=Severity.HIGH if service_type == "LoadBalancer" else Severity.MEDIUM,
        )
    )


def _helm_env(path: str, env_list: list[Any], store: str, findings: list[Finding]) -> None:
    env = env_to_map(env_list)
    for setting in auth_disabling_env(env):
        findings.append(
            make_finding(
                cat.HELM_AUTH_DISABLED,
                f"{store}: {setting.name} ({setting.reason})",
                file=path,
                line=_env_line(env_list, setting.name),
            )
        )
