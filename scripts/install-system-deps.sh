#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real; skips what is already there.
set -euo pipefail
needed=()
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
command -v memcached >/dev/null 2>&1 || needed+=(memcached)
# pg_dump: the exposed-store drill dumps a PostgreSQL deployment to search it (tests/drills).
command -v pg_dump >/dev/null 2>&1 || needed+=(postgresql-client)
if [ ${#needed[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${needed[*]} (run as root or install them: apt-get install ${needed[*]})" >&2
    exit 1
fi
echo "installing Debian packages: ${needed[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
