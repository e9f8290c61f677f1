#!/usr/bin/env bash
# test.sh - the whole test suite, from a fresh machine: a virtualenv with the package and its dev
# extras, the container infrastructure (scripts/test-infra.sh up), then pytest. Extra arguments go to
# pytest (e.g. `scripts/test.sh tests/unit -q`). The single-node Kubernetes (`scripts/test-infra.sh up --k8s`)
# comes up too and is required: the deploy tests fail instead of skipping. CK_K8S=0 leaves it out (a quick edit
# loop on a machine without the cached binaries): the deploy tests then skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${CK_VENV:-.venv}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
# reinstall only when the dependencies changed
stamp="$VENV/.ck-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -e '.[dev]'
  echo "$want" >"$stamp"
fi
# the package's bytecode, as `pip install` leaves a package (git-ignored): with PYTHONDONTWRITEBYTECODE set,
# every `python -m containerkit` the tests start would compile it again
"$VENV/bin/python" -m compileall -q containerkit >/dev/null

if [ "${CK_K8S:-1}" != 0 ]; then
  kc=$(bash scripts/test-infra.sh up --k8s | tail -1)
  export "${kc:?no KUBECONFIG line from test-infra.sh up --k8s}"
  export CK_REQUIRE_K8S=1
else
  bash scripts/test-infra.sh up
fi

export CK_REQUIRE_INFRA=1            # a missing engine or registry fails the run instead of skipping
export CONTAINERKIT_PULL_POLICY=never # no registry outside this machine is reachable: never pull
exec "$VENV/bin/python" -m pytest "$@"
