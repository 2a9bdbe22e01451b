"""Generate a tree of realistic configuration files for the exposure-scanner benchmark.

Usage: python benchmarks/exposure/generate.py [--files 10000] [--out benchmarks/out/exposure-tree] [--seed 7]
The mix follows what infrastructure repositories hold: Terraform (half of it files that declare no
firewall/search/S3 resource: variables, outputs, providers), Kubernetes manifests, compose files, Helm
values and data-store configs; about one file in six carries an exposure.
"""

from __future__ import annotations

import argparse
import random
import shutil
from collections.abc import Callable
from pathlib import Path

ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - written into generated configs; nothing binds to it
STORES = [("redis", 6379), ("elasticsearch", 9200), ("postgres", 5432), ("mongo", 27017), ("memcached", 11211)]


def tf_nsg(rng: random.Random, i: int) -> str:
    source = rng.choice(["Internet", "*", "VirtualNetwork", "10.0.0.0/8", "AzureLoadBalancer"])
    port = rng.choice(["9200", "443", "5601", "22", "9200-9300", "6379"])
    return f'''resource "azurerm_network_security_group" "nsg_{i}" {{
  name                = "nsg-{i}"
  location            = var.location
  resource_group_name = azurerm_resource_group.main.name

  security_rule {{
    name                       = "rule-{i}"
    priority                   = {100 + i % 50}
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "{port}"
    source_address_prefix      = "{source}"
    destination_address_prefix = "*"
  }}

  tags = {{
    environment = var.environment
    team        = "support-{i % 7}"
  }}
}}
'''


def tf_sg(rng: random.Random, i: int) -> str:
    cidr = rng.choice(["0.0.0.0/0", "10.0.0.0/16", "172.16.0.0/12"])
    port = rng.choice([6379, 5432, 443, 9200, 80])
    return f'''resource "aws_security_group" "sg_{i}" {{
  name        = "sg-{i}"
  description = "service {i}"
  vpc_id      = var.vpc_id

  ingress {{
    from_port   = {port}
    to_port     = {port}
    protocol    = "tcp"
    cidr_blocks = ["{cidr}"]
  }}

  egress {{
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }}
}}
'''


def tf_es(rng: random.Random, i: int) -> str:
    encrypted = rng.choice(["true", "false"])
    return f"""resource "aws_opensearch_domain" "search_{i}" {{
  domain_name    = "search-{i}"
  engine_version = "OpenSearch_2.11"

  cluster_config {{
    instance_type  = "r6g.large.search"
    instance_count = 3
  }}

  encrypt_at_rest {{
    enabled = {encrypted}
  }}

  node_to_node_encryption {{
    enabled = true
  }}

  domain_endpoint_options {{
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }}
}}
"""


def tf_s3(rng: random.Random, i: int) -> str:
    acl = rng.choice(["private", "private", "public-read"])
    return f'''resource "aws_s3_bucket" "bucket_{i}" {{
  bucket = "support-artifacts-{i}"
  acl    = "{acl}"
}}

resource "aws_s3_bucket_public_access_block" "bucket_{i}" {{
  bucket                  = aws_s3_bucket.bucket_{i}.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}
'''


def tf_variables(rng: random.Random, i: int) -> str:
    return "".join(
        f"""variable "setting_{i}_{n}" {{
  description = "Setting {n} of module {i}"
  type        = string
  default     = "value-{n}"
}}

"""
        for n in range(rng.randint(3, 8))
    )


def tf_outputs(rng: random.Random, i: int) -> str:
    return "".join(
        f"""output "endpoint_{n}" {{
  value = module.service_{i}.endpoint_{n}
}}
"""
        for n in range(rng.randint(2, 6))
    )


def tf_other(rng: random.Random, i: int) -> str:
    return f"""terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }}
  }}
}}

provider "aws" {{
  region = var.region
}}

resource "aws_iam_role" "role_{i}" {{
  name               = "role-{i}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}}

resource "aws_cloudwatch_log_group" "logs_{i}" {{
  name              = "/support/{i}"
  retention_in_days = {rng.choice([7, 14, 30, 90])}
}}
"""


def k8s(rng: random.Random, i: int) -> str:
    name, port = rng.choice(STORES)
    service_type = rng.choice(["ClusterIP", "ClusterIP", "ClusterIP", "LoadBalancer", "NodePort"])
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}-{i}
  labels:
    app: {name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
        - name: {name}
          image: {name}:latest
          ports:
            - containerPort: {port}
          env:
            - name: LOG_LEVEL
              value: info
          resources:
            limits:
              memory: 512Mi
---
apiVersion: v1
kind: Service
metadata:
  name: {name}-{i}
spec:
  type: {service_type}
  selector:
    app: {name}
  ports:
    - port: {port}
      targetPort: {port}
"""


def compose(rng: random.Random, i: int) -> str:
    name, port = rng.choice(STORES)
    bind = rng.choice(["", "127.0.0.1:", "127.0.0.1:", "0.0.0.0:"])
    return f"""services:
  app:
    image: ghcr.io/acme/support-app:{i % 40}
    ports:
      - "8080:8080"
    environment:
      - DATABASE_URL=postgresql://app:${{DB_PASSWORD}}@db/app
    depends_on: [{name}]
  {name}:
    image: {name}:7
    ports:
      - "{bind}{port}:{port}"
    volumes:
      - {name}-data:/data
volumes:
  {name}-data: {{}}
"""


def helm(rng: random.Random, i: int) -> str:
    service_type = rng.choice(["ClusterIP", "ClusterIP", "LoadBalancer"])
    auth = rng.choice(["true", "true", "false"])
    return f"""architecture: standalone
auth:
  enabled: {auth}
  existingSecret: redis-{i}
master:
  persistence:
    size: 8Gi
  service:
    type: {service_type}
    ports:
      redis: 6379
metrics:
  enabled: true
  service:
    type: ClusterIP
"""


def elasticsearch_yml(rng: random.Random, i: int) -> str:
    host = rng.choice(["127.0.0.1", "_site_", ANY_ADDRESS, "10.1.0.5"])
    security = rng.choice(["true", "true", "false"])
    return f"""cluster.name: support-{i % 30}
node.name: node-{i}
path.data: /var/lib/elasticsearch
path.logs: /var/log/elasticsearch
network.host: {host}
http.port: 9200
discovery.seed_hosts: ["10.1.0.5", "10.1.0.6"]
xpack.security.enabled: {security}
"""


def redis_conf(rng: random.Random, i: int) -> str:
    bind = rng.choice(["127.0.0.1 -::1", "127.0.0.1", ANY_ADDRESS])
    password = rng.choice(["requirepass some-long-password", "", ""])
    return f"""# Redis configuration {i}
bind {bind}
protected-mode yes
port 6379
tcp-backlog 511
timeout 0
tcp-keepalive 300
daemonize no
loglevel notice
databases 16
save 3600 1
save 300 100
appendonly yes
maxmemory-policy allkeys-lru
{password}
"""


def pg_hba(rng: random.Random, i: int) -> str:
    method = rng.choice(["scram-sha-256", "scram-sha-256", "md5", "trust"])
    address = rng.choice(["10.0.0.0/8", "0.0.0.0/0", "192.168.1.0/24"])
    return f"""# TYPE  DATABASE        USER            ADDRESS                 METHOD
local   all             postgres                                peer
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
host    app{i % 9}      app             {address}               {method}
"""


def postgresql_conf(rng: random.Random, i: int) -> str:
    listen = rng.choice(["localhost", "*", "10.0.0.4"])
    return f"""listen_addresses = '{listen}'
port = 5432
max_connections = {rng.choice([100, 200, 500])}
shared_buffers = 1GB
ssl = on
log_min_duration_statement = 500
"""


def mongod_conf(rng: random.Random, i: int) -> str:
    bind = rng.choice(["127.0.0.1", "127.0.0.1,10.0.0.5", ANY_ADDRESS])
    return f"""storage:
  dbPath: /var/lib/mongodb
systemLog:
  destination: file
  path: /var/log/mongodb/mongod.log
net:
  port: 27017
  bindIp: {bind}
security:
  authorization: {rng.choice(["enabled", "enabled", "disabled"])}
"""


def memcached_conf(rng: random.Random, i: int) -> str:
    return f"""-d
logfile /var/log/memcached.log
-m {rng.choice([64, 128, 1024])}
-p 11211
-u memcache
-l {rng.choice(["127.0.0.1", ANY_ADDRESS])}
-P /var/run/memcached/memcached.pid
"""


# (share of files, relative path template, generator)
MIX: list[tuple[float, str, Callable[[random.Random, int], str]]] = [
    (0.05, "infra/azure-{i}/network.tf", tf_nsg),
    (0.04, "infra/aws-{i}/security.tf", tf_sg),
    (0.02, "infra/aws-{i}/search.tf", tf_es),
    (0.03, "infra/aws-{i}/storage.tf", tf_s3),
    (0.05, "infra/mod-{i}/variables.tf", tf_variables),
    (0.03, "infra/mod-{i}/outputs.tf", tf_outputs),
    (0.03, "infra/mod-{i}/main.tf", tf_other),
    (0.25, "k8s/app-{i}/deployment.yaml", k8s),
    (0.15, "apps/svc-{i}/docker-compose.yml", compose),
    (0.10, "charts/redis-{i}/values.yaml", helm),
    (0.07, "configs/es-{i}/elasticsearch.yml", elasticsearch_yml),
    (0.06, "configs/redis-{i}/redis.conf", redis_conf),
    (0.03, "configs/pg-{i}/pg_hba.conf", pg_hba),
    (0.03, "configs/pg-{i}/postgresql.conf", postgresql_conf),
    (0.04, "configs/mongo-{i}/mongod.conf", mongod_conf),
    (0.02, "configs/memcached-{i}/memcached.conf", memcached_conf),
]


def generate(out: Path, files: int, seed: int) -> dict[str, int]:
    """Write `files` files under `out` (replacing it) and return the count per kind."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    counts: dict[str, int] = {}
    written = 0
    for index, (share, template, make) in enumerate(MIX):
        count = round(files * share) if index < len(MIX) - 1 else files - written
        for i in range(count):
            path = out / template.format(i=i)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(make(rng, i))
        counts[make.__name__] = count
        written += count
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/exposure-tree"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    counts = generate(args.out, args.files, args.seed)
    print(f"wrote {sum(counts.values())} files under {args.out}: {counts}")


if __name__ == "__main__":
    main()
