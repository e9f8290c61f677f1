"""A second kube-apiserver with PodSecurityPolicy admission, beside the shared test cluster.

The shared API server (``scripts/k8s-infra.sh``) runs without the PodSecurityPolicy admission plugin: turned on
there, it would refuse every pod that no policy covers, in every other test. This one is started from the same
cached binary with the flags of ``control_plane()`` in ``scripts/k8s-infra.sh`` (same certificates, token file and
service-account keys), plus ``PodSecurityPolicy`` among the admission plugins. It listens on a free port of
127.0.0.1 only and keeps its objects in the shared etcd under a prefix of its own, so the shared cluster never sees
them; it does not compact etcd (the shared server does that), and its prefix is deleted once it has stopped. No
controller-manager, scheduler or kubelet runs against it: it authenticates, admits and stores, which is all a dry
run needs.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import K8S_KUBECONFIG, free_port

K8S_DIR = K8S_KUBECONFIG.parent
ETCD_URL = f"http://127.0.0.1:{os.environ.get('ETCD_PORT', '2379')}"  # the knob of scripts/k8s-infra.sh
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# The Pod Security Standards `restricted` profile as a PodSecurityPolicy: the Kubernetes documentation's
# "restricted" example (policy/restricted-psp.yaml), with its seccomp default left out on purpose. PSS requires
# the pod to ask for RuntimeDefault itself; a PSP default would write it into a pod that lacks it and so hide
# the omission. The AppArmor default stays: PSS accepts a pod that says nothing about AppArmor.
RESTRICTED_PSP: dict[str, Any] = {
    "apiVersion": "policy/v1beta1",
    "kind": "PodSecurityPolicy",
    "metadata": {
        "name": "restricted",
        "annotations": {
            # checked against the pod's and each container's securityContext.seccompProfile field as well
            # as the older annotations (v1.20 derives the annotation from the field); no defaultProfileName
            "seccomp.security.alpha.kubernetes.io/allowedProfileNames": "runtime/default",
            "apparmor.security.beta.kubernetes.io/allowedProfileNames": "runtime/default",
            "apparmor.security.beta.kubernetes.io/defaultProfileName": "runtime/default",
        },
    },
    "spec": {
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "requiredDropCapabilities": ["ALL"],
        "allowedCapabilities": ["NET_BIND_SERVICE"],
        "volumes": [
            "configMap",
            "emptyDir",
            "projected",
            "secret",
            "downwardAPI",
            "persistentVolumeClaim",
            "ephemeral",
            "csi",
        ],
        "hostNetwork": False,
        "hostIPC": False,
        "hostPID": False,
        # no hostPorts: none allowed
        "runAsUser": {"rule": "MustRunAsNonRoot"},
        "seLinux": {"rule": "RunAsAny"},
        "supplementalGroups": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
        "fsGroup": {"rule": "MustRunAs", "ranges": [{"min": 1, "max": 65535}]},
        "readOnlyRootFilesystem": False,
    },
}


def _pki(name: str) -> Path:
    return K8S_DIR / "pki" / name


def unavailable() -> str | None:
    """Why a second API server cannot be started here (None: it can)."""
    binary = K8S_DIR / "bin" / "kube-apiserver"
    if not os.access(binary, os.X_OK):
        return f"no kube-apiserver binary at {binary}; run scripts/test-infra.sh up --k8s"
    for name in ("ca.crt", "apiserver.crt", "apiserver.key", "sa.key", "sa.pub", "tokens.csv"):
        if not _pki(name).is_file():
            return f"no {_pki(name)}; run scripts/test-infra.sh up --k8s"
    try:
        with _NO_PROXY.open(f"{ETCD_URL}/health", timeout=3) as r:
            if json.loads(r.read()).get("health") != "true":
                return f"etcd at {ETCD_URL} is not healthy"
    except (OSError, ValueError) as exc:
        return f"no etcd at {ETCD_URL} ({exc}); run scripts/test-infra.sh up --k8s"
    return None


def _etcd(op: str, body: dict[str, Any]) -> dict[str, Any]:
    """etcd's v3 JSON gateway (keys and values base64)."""
    req = urllib.request.Request(f"{ETCD_URL}/v3/kv/{op}", data=json.dumps(body).encode(), method="POST")
    with _NO_PROXY.open(req, timeout=10) as r:
        return dict(json.loads(r.read()))


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


class PspApiServer:
    """``with PspApiServer() as s:`` a running kube-apiserver on ``s.url``, ``s.kubeconfig`` to reach it as admin."""

    def __init__(self, *, ready_timeout_s: float = 90.0) -> None:
        self.ready_timeout_s = ready_timeout_s
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        # under its own prefix in the shared etcd; the shared server keeps its objects under /registry
        self.etcd_prefix = f"/containerkit-psp-{uuid.uuid4().hex[:12]}"
        self._tmp = tempfile.TemporaryDirectory(prefix="ck-psp-apiserver-")
        self.dir = Path(self._tmp.name)
        self.kubeconfig = self.dir / "kubeconfig"
        self.log = self.dir / "kube-apiserver.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_in_s: float | None = None
        self._token = _pki("tokens.csv").read_text().split(",", 1)[0].strip()

    def args(self) -> list[str]:
        """The flags of the shared server (scripts/k8s-infra.sh, control_plane), with the differences marked."""
        return [
            str(K8S_DIR / "bin" / "kube-apiserver"),
            f"--etcd-servers={ETCD_URL}",
            f"--etcd-prefix={self.etcd_prefix}",  # differs: its own keys in the shared etcd
            "--etcd-compaction-interval=0",  # differs: leaves compacting the shared etcd to the shared server
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",  # differs: a free loopback port
            "--insecure-port=0",
            f"--tls-cert-file={_pki('apiserver.crt')}",
            f"--tls-private-key-file={_pki('apiserver.key')}",
            f"--client-ca-file={_pki('ca.crt')}",
            f"--token-auth-file={_pki('tokens.csv')}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={_pki('sa.pub')}",
            f"--service-account-signing-key-file={_pki('sa.key')}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--endpoint-reconciler-type=none",
            "--enable-admission-plugins=PodSecurityPolicy",  # differs: in addition to the default plugins
            "--disable-admission-plugins=ServiceAccount",
            "--enable-priority-and-fairness=false",
            f"--cert-dir={self.dir / 'certs'}",  # differs: its own
            "--profiling=false",
            "--logtostderr=true",
            "--v=1",
        ]

    def _ready(self) -> bool:
        ctx = ssl.create_default_context(cafile=str(_pki("ca.crt")))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        req = urllib.request.Request(f"{self.url}/readyz", headers={"Authorization": f"Bearer {self._token}"})
        try:
            with opener.open(req, timeout=2) as r:
                return bool(r.status == 200)
        except (OSError, http.client.HTTPException):  # refused, TLS not up yet, or an HTTPError (not ready)
            return False

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def start(self) -> None:
        t0 = time.monotonic()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = t0 + self.ready_timeout_s
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"kube-apiserver exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"kube-apiserver not ready in {self.ready_timeout_s:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)
        self.started_in_s = time.monotonic() - t0
        self.kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "psp", "cluster": {"server": self.url, "certificate-authority": str(_pki("ca.crt"))}}
                    ],
                    "users": [{"name": "admin", "user": {"token": self._token}}],
                    "contexts": [{"name": "psp", "context": {"cluster": "psp", "user": "admin"}}],
                    "current-context": "psp",
                }
            )
        )
        self.kubeconfig.chmod(0o600)

    def stop(self) -> None:
        """Terminate (then kill) the process; once it is gone, delete its keys from etcd and its files."""
        gone = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    gone = False
        if gone:  # a live server could write again after the delete
            prefix = self.etcd_prefix + "/"
            with contextlib.suppress(OSError, ValueError):
                _etcd("deleterange", {"key": _b64(prefix), "range_end": _b64(prefix[:-1] + "0")})
        self._tmp.cleanup()

    def keys_left(self) -> int:
        """How many keys are stored under its etcd prefix."""
        prefix = self.etcd_prefix + "/"
        got = _etcd("range", {"key": _b64(prefix), "range_end": _b64(prefix[:-1] + "0"), "count_only": True})
        return int(got.get("count", 0))

    def __enter__(self) -> PspApiServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
