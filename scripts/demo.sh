#!/usr/bin/env bash
# demo.sh - the main job on an example app, from a fresh machine: set up (virtualenv + infrastructure),
# then `containerkit run` on a fresh copy of examples/<app> with --registry 127.0.0.1:5000.
# Usage: scripts/demo.sh [python-http|node-http] [--json]
#
# Nothing is written into the repository (ignored files included) except the virtualenv: the example is
# copied to ${XDG_CACHE_HOME:-~/.cache}/containerkit/demo/<app>, afresh on every run, and containerkit
# writes its Dockerfile and manifests into that copy.
set -euo pipefail
cd "$(dirname "$0")/.."
app=${1:-python-http}; shift || true
[ -d "examples/$app" ] || { echo "demo.sh: no example named '$app' (try: $(ls examples | tr '\n' ' '))" >&2; exit 2; }
VENV=${CK_VENV:-.venv}
PY=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# the dependencies pyproject.toml names, and this folder on the venv's path (a .pth file): an editable
# install would write its egg-info into the repository. Installed again when pyproject.toml changed;
# scripts/test.sh's editable install (its stamp .ck-installed) covers the demo's needs too
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if ! "$VENV/bin/python" -P -c 'import containerkit' 2>/dev/null \
  || { [ "$(cat "$VENV/.ck-installed" 2>/dev/null)" != "$want" ] \
    && [ "$(cat "$VENV/.ck-installed-run" 2>/dev/null)" != "$want" ]; }; then
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
    >"$VENV/.ck-demo-requirements.txt"
  "$VENV/bin/pip" install -q -r "$VENV/.ck-demo-requirements.txt"
  site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  pwd >"$site/containerkit-demo.pth"
  echo "$want" >"$VENV/.ck-installed-run"
fi
# bytecode goes to the venv too, not into the repository's __pycache__ folders
PYTHONPYCACHEPREFIX="$(cd "$VENV" && pwd)/pycache"
export PYTHONPYCACHEPREFIX

bash scripts/test-infra.sh up

work="${XDG_CACHE_HOME:-$HOME/.cache}/containerkit/demo/$app"
rm -rf "$work"
mkdir -p "$(dirname "$work")"
cp -R "examples/$app" "$work"
rm -rf "$work/Dockerfile" "$work/.dockerignore" "$work/k8s" "$work/node_modules"
echo "[demo] running on a copy of examples/$app: $work" >&2

export CONTAINERKIT_PULL_POLICY=${CONTAINERKIT_PULL_POLICY:-never}
exec "$VENV/bin/python" -m containerkit run "$work" --registry "${CK_REGISTRY:-127.0.0.1:5000}" "$@"
