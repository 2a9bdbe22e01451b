"""Every check the scanner knows, with its stable id; ids are never reused or renumbered."""

from __future__ import annotations

from casevault.exposure.findings import Catalogue, Check, Role, Severity

CATALOGUE = Catalogue()

_ES_SECURITY = "https://www.elastic.co/guide/en/elasticsearch/reference/current/security-minimal-setup.html"
_ES_NETWORK = "https://www.elastic.co/guide/en/elasticsearch/reference/current/modules-network.html"
_ES_TLS = "https://www.elastic.co/guide/en/elasticsearch/reference/current/security-basic-setup-https.html"
_OS_SECURITY = "https://opensearch.org/docs/latest/security/configuration/index/"
_REDIS_SECURITY = "https://redis.io/docs/latest/operate/oss_and_stack/management/security/"
_MONGO_CHECKLIST = "https://www.mongodb.com/docs/manual/administration/security-checklist/"
_PG_HBA = "https://www.postgresql.org/docs/current/auth-pg-hba-conf.html"
_PG_CONN = "https://www.postgresql.org/docs/current/runtime-config-connection.html"
_MEMCACHED = "https://github.com/memcached/memcached/wiki/SASLHowto"
_COUCHDB = "https://docs.couchdb.org/en/stable/intro/security.html"
_COMPOSE_PORTS = "https://docs.docker.com/reference/compose-file/services/#ports"
_K8S_SERVICE = "https://kubernetes.io/docs/concepts/services-networking/service/"
_K8S_LB_RANGES = "https://kubernetes.io/docs/tasks/access-application-cluster/create-external-load-balancer/"
_K8S_INGRESS = "https://kubernetes.io/docs/concepts/services-networking/ingress/"
_AZ_NSG = "https://learn.microsoft.com/en-us/azure/virtual-network/network-security-groups-overview"
_AWS_SG = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html"
_GCP_FW = "https://cloud.google.com/firewall/docs/firewalls"
_AWS_OS = "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/security.html"
_AWS_S3 = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
_RABBIT = "https://www.rabbitmq.com/docs/access-control#default-state"
_MYSQL = "https://mariadb.com/kb/en/mariadb-secure-installation/"
_KIBANA = "https://www.elastic.co/guide/en/kibana/current/using-kibana-with-security.html"
_INCIDENT = "https://msrc.microsoft.com/blog/2020/01/access-misconfiguration-for-customer-support-databases/"


def _add(
    check_id: str,
    title: str,
    severity: Severity,
    role: Role,
    remediation: str,
    *references: str,
) -> Check:
    return CATALOGUE.add(Check(check_id, title, severity, role, remediation, tuple(references)))


H, M, L, C, INFO = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.CRITICAL, Severity.INFO
EXP, NOAUTH, OTHER = Role.EXPOSURE, Role.NO_AUTH, Role.OTHER

PARSE_ERROR = _add(
    "CV-GEN-001",
    "Configuration file could not be parsed",
    INFO,
    OTHER,
    "Fix the syntax so the file can be checked; the rest of the scan went on.",
)

# Elasticsearch / OpenSearch
ES_SECURITY_DISABLED = _add(
    "CV-ES-001",
    "Elasticsearch/OpenSearch security is disabled",
    M,
    NOAUTH,
    "Set xpack.security.enabled: true (OpenSearch: remove plugins.security.disabled) and create users.",
    _ES_SECURITY,
    _OS_SECURITY,
    _INCIDENT,
)
ES_SECURITY_UNSET = _add(
    "CV-ES-002",
    "Elasticsearch security is not enabled explicitly (off by default before 8.0)",
    M,
    NOAUTH,
    "Set xpack.security.enabled: true explicitly; Elasticsearch 6.x/7.x start without authentication.",
    _ES_SECURITY,
)
ES_NETWORK_EXPOSED = _add(
    "CV-ES-003",
    "Elasticsearch/OpenSearch listens on a non-loopback address",
    M,
    EXP,
    "Bind network.host/http.host to a private interface behind a firewall; never to the internet.",
    _ES_NETWORK,
    _INCIDENT,
)
ES_HTTP_NO_TLS = _add(
    "CV-ES-004",
    "Elasticsearch/OpenSearch HTTP layer has no TLS",
    M,
    OTHER,
    "Enable xpack.security.http.ssl.enabled (OpenSearch: plugins.security.ssl.http.enabled).",
    _ES_TLS,
)

# Redis
REDIS_PROTECTED_MODE_OFF = _add(
    "CV-RD-001",
    "Redis protected mode is off and no password is set",
    M,
    NOAUTH,
    "Set requirepass or ACL users with passwords, and keep protected-mode yes.",
    _REDIS_SECURITY,
)
REDIS_BIND_ALL = _add(
    "CV-RD-002",
    "Redis listens on all interfaces",
    M,
    EXP,
    "Bind Redis to 127.0.0.1 or a private interface (bind 127.0.0.1 -::1).",
    _REDIS_SECURITY,
)
REDIS_NO_PASSWORD = _add(
    "CV-RD-003",
    "Redis has no password or ACL user",
    M,
    NOAUTH,
    "Set requirepass or define ACL users (user NAME on >PASSWORD ...) and disable the default user.",
    _REDIS_SECURITY,
)

# MongoDB
MONGO_BIND_ALL = _add(
    "CV-MG-001",
    "MongoDB listens on all interfaces",
    M,
    EXP,
    "Set net.bindIp to localhost or private addresses; do not use bindIpAll or 0.0.0.0.",
    _MONGO_CHECKLIST,
)
MONGO_NO_AUTH = _add(
    "CV-MG-002",
    "MongoDB authorization is disabled",
    M,
    NOAUTH,
    "Set security.authorization: enabled and create users.",
    _MONGO_CHECKLIST,
)
MONGO_NO_TLS = _add(
    "CV-MG-003",
    "MongoDB accepts non-TLS connections on an exposed interface",
    L,
    OTHER,
    "Set net.tls.mode: requireTLS with a certificate.",
    _MONGO_CHECKLIST,
)

# PostgreSQL
PG_TRUST = _add(
    "CV-PG-001",
    "pg_hba.conf trusts network connections without a password",
    H,
    NOAUTH,
    "Replace trust with scram-sha-256 for host entries and narrow the address range.",
    _PG_HBA,
)
PG_CLEARTEXT_PASSWORD = _add(
    "CV-PG-002",
    "pg_hba.conf accepts cleartext passwords over non-TLS connections",
    M,
    OTHER,
    "Use scram-sha-256 and hostssl entries.",
    _PG_HBA,
)
PG_WIDE_RANGE = _add(
    "CV-PG-003",
    "pg_hba.conf accepts logins from any address",
    M,
    EXP,
    "Restrict the address column to the application subnets; use hostssl and scram-sha-256.",
    _PG_HBA,
)
PG_LISTEN_ALL = _add(
    "CV-PG-004",
    "PostgreSQL listens on all interfaces",
    L,
    EXP,
    "Set listen_addresses to the interfaces clients use; keep pg_hba.conf strict.",
    _PG_CONN,
)
PG_LISTEN_ALL_WEAK_HBA = _add(
    "CV-PG-005",
    "PostgreSQL listens on all interfaces and pg_hba.conf trusts network clients",
    C,
    OTHER,
    "Remove trust host entries from pg_hba.conf and restrict listen_addresses.",
    _PG_HBA,
    _PG_CONN,
)
PG_SSL_OFF = _add(
    "CV-PG-006",
    "PostgreSQL listens on all interfaces with ssl = off",
    L,
    OTHER,
    "Set ssl = on with a certificate, and require hostssl in pg_hba.conf.",
    _PG_CONN,
)

# memcached
MEMCACHED_LISTEN_ALL = _add(
    "CV-MC-001",
    "memcached listens on all interfaces",
    M,
    EXP,
    "Pass -l 127.0.0.1 (or a private address) to memcached.",
    _MEMCACHED,
)
MEMCACHED_NO_SASL = _add(
    "CV-MC-002",
    "memcached runs without SASL authentication",
    L,
    NOAUTH,
    "Enable SASL (-S) or keep memcached on loopback only.",
    _MEMCACHED,
)
MEMCACHED_UDP = _add(
    "CV-MC-003",
    "memcached UDP listener is enabled (amplification risk)",
    M,
    OTHER,
    "Disable UDP with -U 0.",
    _MEMCACHED,
)

# CouchDB
COUCH_BIND_ALL = _add(
    "CV-CD-001",
    "CouchDB listens on all interfaces",
    M,
    EXP,
    "Set [chttpd] bind_address to 127.0.0.1 or a private address.",
    _COUCHDB,
)
COUCH_ADMIN_PARTY = _add(
    "CV-CD-002",
    "CouchDB has no admin account (admin party)",
    M,
    NOAUTH,
    "Create an admin in [admins] and set [chttpd] require_valid_user = true.",
    _COUCHDB,
)
COUCH_PLAINTEXT_ADMIN = _add(
    "CV-CD-003",
    "CouchDB admin password is stored in plain text in the ini file",
    L,
    OTHER,
    "Let CouchDB hash the password on start and keep local.ini out of version control.",
    _COUCHDB,
)

# docker compose
COMPOSE_PORT_ALL = _add(
    "CV-DC-001",
    "Data-store port published on all host interfaces",
    M,
    EXP,
    'Publish on loopback only ("127.0.0.1:6379:6379") or do not publish; use an internal network.',
    _COMPOSE_PORTS,
)
COMPOSE_AUTH_DISABLED = _add(
    "CV-DC-002",
    "Data-store authentication is disabled by environment",
    M,
    NOAUTH,
    "Remove the setting and provide credentials through secrets.",
    _COMPOSE_PORTS,
)
COMPOSE_AUTH_DEFAULT_OFF = _add(
    "CV-DC-003",
    "Data-store image runs without authentication by default",
    L,
    NOAUTH,
    "Configure credentials (for example requirepass, MONGO_INITDB_ROOT_USERNAME, xpack.security.enabled=true).",
    _COMPOSE_PORTS,
)
COMPOSE_HOST_NETWORK = _add(
    "CV-DC-004",
    "Data store uses the host network",
    M,
    EXP,
    "Use a bridge network and publish only what clients need, on loopback.",
    _COMPOSE_PORTS,
)

# Kubernetes / Helm
K8S_SERVICE_EXPOSED = _add(
    "CV-K8-001",
    "Data-store Service is exposed outside the cluster without source ranges",
    H,
    EXP,
    "Use type ClusterIP, or an internal load balancer, or set loadBalancerSourceRanges to known networks.",
    _K8S_SERVICE,
    _K8S_LB_RANGES,
)
K8S_INGRESS_DATASTORE = _add(
    "CV-K8-002",
    "Ingress routes to a data-store service",
    H,
    EXP,
    "Do not publish data stores through an Ingress; if you must (Kibana), require authentication.",
    _K8S_INGRESS,
)
K8S_AUTH_DISABLED = _add(
    "CV-K8-003",
    "Data-store container disables authentication by environment",
    M,
    NOAUTH,
    "Remove the setting and provide credentials from a Secret.",
    _K8S_SERVICE,
)
K8S_HOST_NETWORK = _add(
    "CV-K8-004",
    "Data-store pod uses the host network",
    M,
    EXP,
    "Drop hostNetwork: true; expose the store through a ClusterIP Service.",
    _K8S_SERVICE,
)
HELM_SERVICE_EXPOSED = _add(
    "CV-HV-001",
    "Helm values expose a data-store Service outside the cluster without source ranges",
    H,
    EXP,
    "Use service.type ClusterIP or set loadBalancerSourceRanges / an internal load-balancer annotation.",
    _K8S_LB_RANGES,
)
HELM_AUTH_DISABLED = _add(
    "CV-HV-002",
    "Helm values disable data-store authentication",
    M,
    NOAUTH,
    "Set auth.enabled: true (or the chart's equivalent) and provide the password from a Secret.",
    _K8S_SERVICE,
)

# Terraform
TF_AZURE_NSG_OPEN = _add(
    "CV-TF-001",
    "Azure NSG rule allows the internet to reach a data-store port",
    H,
    EXP,
    "Restrict source_address_prefix to known networks or use a private endpoint; never Internet/*.",
    _AZ_NSG,
    _INCIDENT,
)
TF_AWS_SG_OPEN = _add(
    "CV-TF-002",
    "AWS security group allows the internet to reach a data-store port",
    H,
    EXP,
    "Restrict cidr_blocks to known networks or reference a security group.",
    _AWS_SG,
)
TF_GCP_FIREWALL_OPEN = _add(
    "CV-TF-003",
    "GCP firewall allows the internet to reach a data-store port",
    H,
    EXP,
    "Restrict source_ranges to known networks.",
    _GCP_FW,
)
TF_ES_NO_ENCRYPTION_AT_REST = _add(
    "CV-TF-010",
    "Elasticsearch/OpenSearch domain without encryption at rest",
    M,
    OTHER,
    "Set encrypt_at_rest { enabled = true }.",
    _AWS_OS,
)
TF_ES_NO_NODE_TO_NODE = _add(
    "CV-TF-011",
    "Elasticsearch/OpenSearch domain without node-to-node encryption",
    M,
    OTHER,
    "Set node_to_node_encryption { enabled = true }.",
    _AWS_OS,
)
TF_ES_NO_HTTPS = _add(
    "CV-TF-012",
    "Elasticsearch/OpenSearch domain does not enforce HTTPS",
    M,
    OTHER,
    "Set domain_endpoint_options { enforce_https = true, tls_security_policy = ... }.",
    _AWS_OS,
)
TF_ES_NO_FGAC = _add(
    "CV-TF-013",
    "Elasticsearch/OpenSearch domain without fine-grained access control",
    M,
    NOAUTH,
    "Set advanced_security_options { enabled = true, internal_user_database_enabled = ... }.",
    _AWS_OS,
)
TF_ES_PUBLIC_POLICY = _add(
    "CV-TF-014",
    "Elasticsearch/OpenSearch access policy allows any principal",
    H,
    EXP,
    "Name specific IAM principals in access_policies or add an IP condition; place the domain in a VPC.",
    _AWS_OS,
)
TF_S3_PUBLIC_ACL = _add(
    "CV-TF-020",
    "S3 bucket has a public ACL",
    H,
    EXP,
    "Use acl = private and enable the public access block.",
    _AWS_S3,
)
TF_S3_PUBLIC_POLICY = _add(
    "CV-TF-021",
    "S3 bucket policy allows any principal",
    H,
    EXP,
    "Name specific principals or add conditions; enable the public access block.",
    _AWS_S3,
)
TF_S3_NO_PUBLIC_ACCESS_BLOCK = _add(
    "CV-TF-022",
    "S3 bucket has no public access block",
    M,
    OTHER,
    "Add aws_s3_bucket_public_access_block with all four settings true.",
    _AWS_S3,
)
TF_S3_WEAK_PUBLIC_ACCESS_BLOCK = _add(
    "CV-TF-023",
    "S3 public access block leaves public access possible",
    M,
    OTHER,
    "Set block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets to true.",
    _AWS_S3,
)

TF_DB_PUBLIC = _add(
    "CV-TF-030",
    "Managed database instance is publicly accessible",
    H,
    EXP,
    "Set publicly_accessible = false and reach the database through the VPC.",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html",
)
TF_AZURE_DB_FIREWALL_OPEN = _add(
    "CV-TF-031",
    "Azure database firewall rule allows every IPv4 address",
    H,
    EXP,
    "Allow only the client ranges that need the database, or use a private endpoint.",
    "https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/concepts-firewall-rules",
)

# Live probes
PROBE_REDIS_OPEN = _add(
    "CV-PR-001",
    "Redis answers INFO without authentication",
    C,
    OTHER,
    "Set requirepass/ACLs and bind to a private interface.",
    _REDIS_SECURITY,
)
PROBE_MEMCACHED_OPEN = _add(
    "CV-PR-002",
    "memcached answers stats without authentication",
    H,
    OTHER,
    "Bind memcached to loopback or enable SASL.",
    _MEMCACHED,
)
PROBE_POSTGRES_TRUST = _add(
    "CV-PR-003",
    "PostgreSQL accepts a login without a password",
    C,
    OTHER,
    "Replace trust entries in pg_hba.conf with scram-sha-256.",
    _PG_HBA,
)
PROBE_MYSQL_EMPTY_ROOT = _add(
    "CV-PR-004",
    "MySQL/MariaDB accepts root with an empty password",
    C,
    OTHER,
    "Set a root password or use unix_socket authentication only (mariadb-secure-installation).",
    _MYSQL,
)
PROBE_RABBITMQ_GUEST = _add(
    "CV-PR-005",
    "RabbitMQ accepts the default guest/guest credentials",
    H,
    OTHER,
    "Delete the guest user or change its password; keep loopback_users restricted.",
    _RABBIT,
)
PROBE_ES_OPEN = _add(
    "CV-PR-006",
    "Elasticsearch/OpenSearch lists indices without credentials",
    C,
    OTHER,
    "Enable security and TLS; put the cluster behind a private network.",
    _ES_SECURITY,
    _INCIDENT,
)
PROBE_KIBANA_OPEN = _add(
    "CV-PR-007",
    "Kibana answers without credentials",
    H,
    OTHER,
    "Enable Elasticsearch security so Kibana requires a login.",
    _KIBANA,
)
PROBE_COUCH_OPEN = _add(
    "CV-PR-008",
    "CouchDB serves its configuration without credentials (admin party)",
    C,
    OTHER,
    "Create an admin and set require_valid_user = true.",
    _COUCHDB,
)
PROBE_COUCH_DBS = _add(
    "CV-PR-009",
    "CouchDB lists databases without credentials",
    H,
    OTHER,
    "Set [chttpd] require_valid_user = true.",
    _COUCHDB,
)
PROBE_MONGO_OPEN = _add(
    "CV-PR-010",
    "MongoDB lists databases without authentication",
    C,
    OTHER,
    "Enable security.authorization and create users.",
    _MONGO_CHECKLIST,
)
PROBE_S3_ANONYMOUS = _add(
    "CV-PR-011",
    "S3-compatible endpoint allows anonymous listing",
    C,
    OTHER,
    "Require signed requests; block public access on every bucket.",
    _AWS_S3,
)

# Self-check of a casevault installation
SELF_DEBUG = _add(
    "CV-SELF-001",
    "casevault runs with debug enabled",
    H,
    OTHER,
    "Unset CASEVAULT_DEBUG in production.",
)
SELF_WEAK_SECRET = _add(
    "CV-SELF-002",
    "casevault secret is missing, a default, or weak",
    C,
    OTHER,
    "Set CASEVAULT_SECRET to at least 32 random bytes (python -c 'import secrets;print(secrets.token_urlsafe(48))').",
)
SELF_KEY_PERMISSIONS = _add(
    "CV-SELF-003",
    "Key file is readable by other users",
    H,
    OTHER,
    "chmod 600 the key file and make it owned by the service account.",
)
SELF_DB_NO_PASSWORD = _add(
    "CV-SELF-004",
    "Database URL has no password",
    M,
    OTHER,
    "Use a password (or client certificates) for the database account.",
    _PG_HBA,
)
SELF_DB_OPEN = _add(
    "CV-SELF-005",
    "casevault database accepts a login without a password",
    C,
    OTHER,
    "Replace trust entries in pg_hba.conf with scram-sha-256.",
    _PG_HBA,
)
SELF_NO_TLS = _add(
    "CV-SELF-006",
    "casevault serves a non-loopback address without TLS",
    H,
    OTHER,
    "Set CASEVAULT_TLS_CERT and CASEVAULT_TLS_KEY, or terminate TLS in front and bind to loopback.",
)

ROLES = {check.check_id: check.role for check in CATALOGUE.all()}
