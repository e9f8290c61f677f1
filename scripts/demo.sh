#!/usr/bin/env bash
# demo.sh - the main job on an example app, from a fresh machine: set up (virtualenv + infrastructure),
# then `containerkit run examples/<app> --registry 127.0.0.1:5000`. Usage: scripts/demo.sh [python-http|node-http] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
app=${1:-python-http}; shift || true
VENV=${CK_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import containerkit' 2>/dev/null || "$VENV/bin/pip" install -q -e .
bash scripts/test-infra.sh up
export CONTAINERKIT_PULL_POLICY=${CONTAINERKIT_PULL_POLICY:-never}
exec "$VENV/bin/containerkit" run "examples/$app" --registry "${CK_REGISTRY:-127.0.0.1:5000}" "$@"
