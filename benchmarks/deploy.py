"""Time to Ready: `containerkit deploy` against `kubectl apply` + `kubectl rollout status`, same manifests.

One `containerkit run --no-scan` of an example (not timed) gives an image in the registry and the
Kustomize tree; then, alternating, in a fresh namespace each round:

- baseline: ``kubectl apply --server-side -k k8s/overlays/local -n NS`` + ``kubectl rollout status``
  (the same objects; kubectl is a single binary that starts in milliseconds);
- containerkit, in-process: ``deploy_session`` (server-side apply, rollout followed, the app's answer
  checked), as a Python caller or the graph's deploy stage pays it;
- containerkit, CLI: ``containerkit deploy ID`` as a user types it (Python start-up included).

Ratios are printed against the baseline (target: the in-process deploy within 1.2x).

    KUBECONFIG=... python benchmarks/deploy.py [python-http|node-http] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KUBECONFIG = os.environ.get("KUBECONFIG") or str(
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "containerkit/infra/k8s/kubeconfig"
)


def _sh(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res


def _namespace(env: dict[str, str]) -> str:
    ns = f"ck-bench-{uuid.uuid4().hex[:6]}"
    _sh(["kubectl", "create", "namespace", ns], env)
    return ns


def _drop(ns: str, env: dict[str, str]) -> None:
    """Delete the namespace and wait until its pods are gone (the next round needs the host port)."""
    subprocess.run(
        ["kubectl", "delete", "deployment,service", "--all", "-n", ns, "--wait=true", "--timeout=60s"],
        env=env, capture_output=True, check=False,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["kubectl", "get", "pods", "-n", ns, "-o", "name"], env=env, capture_output=True, text=True, check=False
        ).stdout
        if not out.strip():
            break
        time.sleep(0.3)
    subprocess.run(["kubectl", "delete", "namespace", ns, "--wait=false"], env=env, capture_output=True, check=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("example", nargs="?", default="python-http")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--registry", default=os.environ.get("CK_REGISTRY", "127.0.0.1:5000"))
    args = ap.parse_args()
    if shutil.which("kubectl") is None:
        sys.exit("kubectl is not installed: the baseline needs it")

    work = Path(tempfile.mkdtemp(prefix="ck-bench-deploy-"))
    app = work / args.example
    shutil.copytree(
        ROOT / "examples" / args.example, app, ignore=shutil.ignore_patterns("Dockerfile", "k8s", "node_modules")
    )
    home = work / "home"
    env = {**os.environ, "CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never", "KUBECONFIG": KUBECONFIG}
    ck = [sys.executable, "-m", "containerkit"]
    print(f"preparing: containerkit run {args.example} --registry {args.registry} --no-scan (not timed)")
    out = _sh([*ck, "run", str(app), "--registry", args.registry, "--no-scan", "--json"], env).stdout
    session = json.loads(out[out.rfind("\n{") + 1 :])
    sid = session["session_id"]
    # the tree as that run wrote it (no namespace in it): each containerkit deploy below rewrites its own copy
    tree = work / "k8s-baseline"
    shutil.copytree(Path(session["manifests"][0]).parent.parent, tree)
    overlay = tree / "overlays" / "local"

    os.environ.update({"CONTAINERKIT_HOME": str(home), "CONTAINERKIT_PULL_POLICY": "never", "KUBECONFIG": KUBECONFIG})
    from containerkit.graph import deploy_session
    from containerkit.settings import Settings

    settings = Settings.load()
    base: list[float] = []
    lib: list[float] = []
    cli: list[float] = []
    for i in range(args.rounds):
        ns = _namespace(env)
        t0 = time.perf_counter()
        _sh(["kubectl", "apply", "--server-side", "--field-manager", "bench", "-k", str(overlay), "-n", ns], env)
        _sh(["kubectl", "rollout", "status", "deployment", "-n", ns, "--timeout=180s"], env)
        base.append(time.perf_counter() - t0)
        _drop(ns, env)

        ns = _namespace(env)
        t0 = time.perf_counter()
        s = deploy_session(sid, settings=settings, options={"namespace": ns, "k8s_overlay": "local"})
        lib.append(time.perf_counter() - t0)
        if s.status != "succeeded" or s.deployment is None or not s.deployment.ready:
            sys.exit(f"containerkit deploy failed: {[e.message for e in s.errors][-1:]}")
        _drop(ns, env)

        ns = _namespace(env)
        t0 = time.perf_counter()
        _sh([*ck, "deploy", sid, "--namespace", ns, "--k8s-overlay", "local", "--json"], env)
        cli.append(time.perf_counter() - t0)
        _drop(ns, env)
        print(
            f"round {i + 1}: kubectl {base[-1]:.2f}s  deploy_session {lib[-1]:.2f}s  containerkit deploy {cli[-1]:.2f}s"
        )

    b, li, c = statistics.median(base), statistics.median(lib), statistics.median(cli)
    print(f"kubectl apply + rollout status  median {b:6.2f}s  ({', '.join(f'{x:.2f}' for x in base)})")
    print(f"deploy_session (in-process)     median {li:6.2f}s  ({', '.join(f'{x:.2f}' for x in lib)})")
    print(f"containerkit deploy (CLI)       median {c:6.2f}s  ({', '.join(f'{x:.2f}' for x in cli)})")
    print(f"ratio in-process / kubectl: {li / b:.2f} (target <= 1.2);  CLI / kubectl: {c / b:.2f}")
    print("(containerkit also checks that the app answers HTTP, which kubectl does not)")


if __name__ == "__main__":
    main()
