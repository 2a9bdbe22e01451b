#!/usr/bin/env bash
# Creates the side venv benchmarks/.venv-checkov holding Checkov, the comparison scanner (never installed in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-checkov
CHECKOV_VERSION="${CHECKOV_VERSION:-}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
fi
if [ -n "$CHECKOV_VERSION" ]; then
    "$VENV/bin/pip" install --quiet "checkov==$CHECKOV_VERSION"
else
    "$VENV/bin/pip" install --quiet checkov
fi
"$VENV/bin/checkov" --version
