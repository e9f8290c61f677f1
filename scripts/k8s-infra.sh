#!/usr/bin/env bash
# k8s-infra.sh up|down|status - a REAL single-node Kubernetes for containerkit's deploy tests, offline, loopback only.
# Called by `scripts/test-infra.sh up --k8s` / `down`; usable on its own.
#
#   up      idempotent; every step is skipped when already done:
#             1. apt: etcd-server, golang-go, make, rsync (Debian bookworm).
#             2. etcd 3.4 + kube-apiserver, kube-controller-manager, kube-scheduler and a PATCHED kubelet, all v1.20.2,
#                compiled once from Debian's `kubernetes` source package (vendored deps) with Debian's Go
#                (~4-5 min cold on 2 cores); binaries cached in $K8S_DIR/bin, outside the repository.
#             3. control plane on https://127.0.0.1:$K8S_PORT (token auth, RBAC), then the kubelet (dockershim on the
#                running dockerd) as node 127.0.0.1: no CNI, no kube-proxy, no iptables chains, image GC and
#                eviction off. Pods that must answer use hostNetwork: true.
#           The last line printed is `KUBECONFIG=<path>`. When the cluster already runs, `up` only checks it (~1 s);
#           concurrent calls (two test runs sharing the machine) are serialized by a lock file.
#   down    stops what `up` started (by recorded pid), removes the kubelet's containers, mounts and the node.
#   status  prints what answers.
#
# The kubelet is NEVER built unpatched: a stock kubelet's AWS credential provider contacts a cloud metadata address
# outside loopback when it starts. The patches (checked after sed; the build stops if one did not apply):
#   (a) never write host sysctls, (b) never change dockerd/containerd oom_score_adj, (c) no negative oom_score_adj for
#   sandboxes (no CAP_SYS_RESOURCE here: runc fails every sandbox otherwise), (d) keep IP-less sandboxes instead of
#   re-creating them forever, (e) no AWS ECR credential provider.
# Adapted from the tested scripts k8s-up.sh / kubelet-up.sh of the shared infrastructure notes.
#
# Knobs: K8S_DIR (${XDG_CACHE_HOME:-~/.cache}/containerkit/infra/k8s), K8S_PORT (6443), ETCD_PORT (2379),
#        KUBELET_PORT (10250), KUBELET_HEALTHZ_PORT (10248), PAUSE_IMAGE (localhost/k8s-pause:3.4)
set -euo pipefail
K8S_DIR=${K8S_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/containerkit/infra/k8s}
K8S_PORT=${K8S_PORT:-6443}
ETCD_PORT=${ETCD_PORT:-2379}
ETCD_PEER_PORT=$((ETCD_PORT + 1))
NODE_NAME=127.0.0.1
KUBELET_PORT=${KUBELET_PORT:-10250}
KUBELET_HEALTHZ_PORT=${KUBELET_HEALTHZ_PORT:-10248}
PAUSE_IMAGE=${PAUSE_IMAGE:-localhost/k8s-pause:3.4}
export DEBIAN_FRONTEND=noninteractive
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker
BIN=$K8S_DIR/bin PKI=$K8S_DIR/pki KC=$K8S_DIR/kubeconfig KD=$K8S_DIR/kubelet
T0=$(date +%s)
log() { printf '[k8s-infra %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
token() { cut -d, -f1 "$PKI/tokens.csv"; }
api_ready() {
  [ -f "$PKI/tokens.csv" ] && curl -sf --max-time 2 -A containerkit-k8s-infra --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(token)" \
    "https://127.0.0.1:${K8S_PORT}/readyz" >/dev/null 2>&1
}
# Never let the API server pretty-print (it does for a curl user agent): v1.20's vendored json-iterator/reflect2
# crashes kube-apiserver built with Go >= 1.18 when it pretty-prints an object holding a map (SIGSEGV in aeshashbody).
api_get() {
  curl -sf --max-time 5 -A containerkit-k8s-infra --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(token)" \
    "https://127.0.0.1:${K8S_PORT}$1"
}
# alive NAME: the recorded pid runs the binary NAME (a reused pid never counts)
alive() {
  local f="$K8S_DIR/run/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && [ "$(basename "$(readlink /proc/"$(cat "$f")"/exe 2>/dev/null)")" = "$1" ]
}
start() {
  local name=$1; shift
  # 9>&-: the daemon must not hold the lock file open (the next `up` would wait on it forever)
  setsid nohup "$@" >"$K8S_DIR/logs/$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$K8S_DIR/run/$name.pid"
}
wait_for() { local what=$1 n=$2 _; shift 2; for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; die "$what not ready (logs in $K8S_DIR/logs)"; }
stop() {
  local name=$1 f="$K8S_DIR/run/$1.pid" pid _
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if alive "$name"; then
    kill -TERM "$pid"; for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    log "$name (pid $pid) stopped"
  fi
  rm -f "$f"
}

BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet)

packages() {
  local need=() p
  for p in etcd-server curl openssl; do pkg_ok "$p" || need+=("$p"); done
  local missing=0 b; for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] || missing=1; done
  [ "$missing" = 1 ] && for p in golang-go make rsync dpkg-dev; do pkg_ok "$p" || need+=("$p"); done
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "missing packages ${need[*]} (needs root to apt-get install)"
  log "apt-get install ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >"$K8S_DIR/logs/apt.log" 2>&1 \
    || { tail -20 "$K8S_DIR/logs/apt.log" >&2; die "apt-get install failed"; }
}

source_dir() {
  local srcdir
  srcdir=$(ls -d "$K8S_DIR"/src/kubernetes-1.*/ 2>/dev/null | head -1 || true)
  if [ -z "$srcdir" ]; then
    chmod 777 "$K8S_DIR/src"   # apt-get source downloads as the _apt user
    if ! (cd "$K8S_DIR/src" && apt-get source --download-only -qq kubernetes >/dev/null 2>&1 </dev/null); then
      # no deb-src configured: add one for the mirror the machine already uses
      local mirror
      mirror=$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i=="bookworm"){print u; exit}}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      [ -n "$mirror" ] || die "no Debian mirror found in the apt sources"
      printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$mirror" >/etc/apt/sources.list.d/containerkit-k8s-debsrc.sources
      apt-get update -qq
      (cd "$K8S_DIR/src" && apt-get source --download-only -qq kubernetes >/dev/null </dev/null)
    fi
    tar -xzf "$K8S_DIR"/src/kubernetes_*.orig.tar.gz -C "$K8S_DIR/src"
    srcdir=$(ls -d "$K8S_DIR"/src/kubernetes-1.*/ | head -1)
  fi
  echo "${srcdir%/}"
}

# patch_kubelet SRCDIR: the five patches; each one is checked, the build never runs without them.
patch_kubelet() {
  local s=$1
  sed -i 's/^\tb := KernelTunableModify$/\tb := KernelTunableWarn \/\/ containerkit: never write host sysctls/' \
    "$s/pkg/kubelet/cm/container_manager_linux.go"
  grep -q 'b := KernelTunableWarn' "$s/pkg/kubelet/cm/container_manager_linux.go" || die "sysctl patch did not apply"
  sed -i 's/^\tgo wait.Until(m.doWork, 5\*time.Minute, wait.NeverStop)$/\t_, _, _ = wait.Until, time.Minute, m.doWork \/\/ containerkit: leave dockerd\/containerd alone/' \
    "$s/pkg/kubelet/dockershim/cm/container_manager_linux.go"
  grep -q '_, _, _ = wait.Until' "$s/pkg/kubelet/dockershim/cm/container_manager_linux.go" || die "dockershim patch did not apply"
  sed -i 's/^\tdefaultSandboxOOMAdj int = -998$/\tdefaultSandboxOOMAdj int = 0 \/\/ containerkit/' "$s/pkg/kubelet/dockershim/docker_sandbox.go"
  sed -i 's/^\tguaranteedOOMScoreAdj int = -997$/\tguaranteedOOMScoreAdj int = 0 \/\/ containerkit/' "$s/pkg/kubelet/qos/policy.go"
  grep -q 'defaultSandboxOOMAdj int = 0' "$s/pkg/kubelet/dockershim/docker_sandbox.go" || die "sandbox oom patch did not apply"
  grep -q 'guaranteedOOMScoreAdj int = 0' "$s/pkg/kubelet/qos/policy.go" || die "qos oom patch did not apply"
  sed -i 's/^\tif !kubecontainer.IsHostNetworkPod(pod) \&\& sandboxStatus.Network.Ip == "" {$/\tif false \&\& !kubecontainer.IsHostNetworkPod(pod) \&\& sandboxStatus.Network.Ip == "" { \/\/ containerkit/' \
    "$s/pkg/kubelet/kuberuntime/kuberuntime_manager.go"
  grep -q 'if false && !kubecontainer.IsHostNetworkPod(pod) && sandboxStatus.Network.Ip == ""' \
    "$s/pkg/kubelet/kuberuntime/kuberuntime_manager.go" || die "sandbox-ip patch did not apply"
  sed -i '/^\t_ "k8s.io\/kubernetes\/pkg\/credentialprovider\/aws"$/d' "$s/cmd/kubelet/app/plugins.go"
  ! grep -q 'credentialprovider/aws"' "$s/cmd/kubelet/app/plugins.go" || die "aws-credential-provider patch did not apply"
}

build() {
  local missing=() b; for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] || missing+=("$b"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local t srcdir whats=""; t=$(date +%s)
  srcdir=$(source_dir)
  patch_kubelet "$srcdir"
  log "building ${missing[*]} v1.20 from Debian's source (vendored, ~4-5 min cold on 2 cores; kubelet patched)"
  for b in "${missing[@]}"; do whats+=" cmd/$b"; done
  (cd "$srcdir" && HOME="$K8S_DIR/src/home" CGO_ENABLED=0 GOPROXY=off GOFLAGS= \
     make WHAT="${whats# }" GOLDFLAGS="-s -w") >"$K8S_DIR/logs/build.log" 2>&1 \
     || { tail -30 "$K8S_DIR/logs/build.log" >&2; die "build failed"; }
  for b in "${missing[@]}"; do cp "$srcdir/_output/bin/$b" "$BIN/$b.tmp" && mv "$BIN/$b.tmp" "$BIN/$b"; done
  log "built ${missing[*]} ($(( $(date +%s) - t )) s)"
}

pki() {
  [ -f "$PKI/apiserver.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 -subj "/CN=containerkit-k8s-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >"$PKI/ext.cnf"
  openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -out "$PKI/apiserver.crt" -days 3650 -extfile "$PKI/ext.cnf" 2>/dev/null
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  echo "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'),admin,admin,system:masters" >"$PKI/tokens.csv"
  chmod 600 "$PKI"/*.key "$PKI/tokens.csv"
}

kubeconfig() {
  cat >"$KC.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: containerkit-local
  cluster:
    server: https://127.0.0.1:${K8S_PORT}
    certificate-authority: ${PKI}/ca.crt
users:
- name: admin
  user:
    token: $(token)
contexts:
- name: containerkit-local
  context: {cluster: containerkit-local, user: admin, namespace: default}
current-context: containerkit-local
EOF
  chmod 600 "$KC.tmp"; mv "$KC.tmp" "$KC"
}

control_plane() {
  alive etcd || start etcd etcd --name containerkit --data-dir "$K8S_DIR/etcd-data" \
    --listen-client-urls "http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
    --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster "containerkit=http://127.0.0.1:${ETCD_PEER_PORT}" --listen-metrics-urls "http://127.0.0.1:$((ETCD_PORT + 2))"
  wait_for etcd 300 curl -sf "http://127.0.0.1:${ETCD_PORT}/health"
  alive kube-apiserver || start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:${ETCD_PORT}" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$K8S_PORT" --insecure-port=0 \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
    --token-auth-file="$PKI/tokens.csv" --authorization-mode=RBAC \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
    --disable-admission-plugins=ServiceAccount --enable-priority-and-fairness=false \
    --cert-dir="$K8S_DIR/run/apiserver-certs" --profiling=false --logtostderr=true --v=1
  wait_for kube-apiserver 900 api_ready
  log "kube-apiserver ready on https://127.0.0.1:${K8S_PORT}"
  alive kube-controller-manager || start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
    --bind-address=127.0.0.1 --secure-port=10257 --port=0 --leader-elect=false \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" --use-service-account-credentials=false \
    --controllers='*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route,-attachdetach,-persistentvolume-binder,-persistentvolume-expander,-ttl,-bootstrapsigner,-tokencleaner' \
    --cert-dir="$K8S_DIR/run/kcm-certs" --logtostderr=true --v=1
  alive kube-scheduler || start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
    --bind-address=127.0.0.1 --secure-port=10259 --port=0 --leader-elect=false \
    --cert-dir="$K8S_DIR/run/sched-certs" --logtostderr=true --v=1
  wait_for kube-controller-manager 300 curl -sfk https://127.0.0.1:10257/healthz
  wait_for kube-scheduler 300 curl -sfk https://127.0.0.1:10259/healthz
}

pause_image() {
  $DOCKER image inspect "$PAUSE_IMAGE" >/dev/null 2>&1 && return 0
  local pb=$K8S_DIR/pause-build pausec
  rm -rf "$pb"; mkdir -p "$pb"
  pausec=$(ls "$K8S_DIR"/src/kubernetes-1.*/build/pause/linux/pause.c 2>/dev/null | head -1 || true)
  if [ -n "$pausec" ] && command -v gcc >/dev/null && gcc -Os -static -DVERSION=v3.4-local -o "$pb/pause" "$pausec" 2>"$pb/gcc.log"; then
    printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$pb/Dockerfile"
  else  # fallback: a busybox shell that exits on TERM/INT
    printf 'FROM busybox:1.35\nENTRYPOINT ["/bin/sh","-c","trap \\"exit 0\\" TERM INT; while :; do sleep 3600 & wait $!; done"]\n' >"$pb/Dockerfile"
  fi
  $DOCKER build -q -t "$PAUSE_IMAGE" "$pb" >/dev/null 2>"$pb/build.err" || { cat "$pb/build.err" >&2; die "pause image build failed"; }
  log "pause image $PAUSE_IMAGE built"
}

node_ready() { api_get "/api/v1/nodes/${NODE_NAME}" 2>/dev/null | grep -q '"type":"Ready","status":"True"'; }

kubelet_up() {
  [ "$($DOCKER info --format '{{.CgroupDriver}}' 2>/dev/null)" = cgroupfs ] || die "dockerd not reachable or its cgroup driver is not cgroupfs"
  mkdir -p "$KD"/{root,pki,dockershim,volume-plugins}
  [ -d /var/log/pods ] || touch "$KD/created-var-log-pods"
  [ -d /var/log/containers ] || touch "$KD/created-var-log-containers"
  [ -d /var/lib/kubelet ] || touch "$KD/created-var-lib-kubelet"   # device-plugin socket path is hard-coded there
  if ! alive kubelet; then
    AWS_EC2_METADATA_DISABLED=true start kubelet "$BIN/kubelet" \
      --kubeconfig="$KC" --register-node=true --hostname-override="$NODE_NAME" \
      --address=127.0.0.1 --port="$KUBELET_PORT" --read-only-port=0 \
      --healthz-bind-address=127.0.0.1 --healthz-port="$KUBELET_HEALTHZ_PORT" \
      --root-dir="$KD/root" --cert-dir="$KD/pki" --volume-plugin-dir="$KD/volume-plugins" \
      --container-runtime=docker --docker-endpoint=unix:///var/run/docker.sock \
      --container-runtime-endpoint="unix://$KD/dockershim.sock" --image-service-endpoint="unix://$KD/dockershim.sock" \
      --experimental-dockershim-root-directory="$KD/dockershim" \
      --pod-infra-container-image="$PAUSE_IMAGE" --network-plugin= \
      --cgroup-driver=cgroupfs --cgroups-per-qos=false --enforce-node-allocatable= \
      --fail-swap-on=false --oom-score-adj=0 --make-iptables-util-chains=false --resolv-conf= \
      --image-gc-high-threshold=100 --image-gc-low-threshold=99 --eviction-hard= \
      --logtostderr=true --v=1
  fi
  local _
  for _ in $(seq 1 600); do
    node_ready && break
    alive kubelet || { tail -30 "$K8S_DIR/logs/kubelet.log" >&2; die "kubelet exited"; }
    sleep 0.2
  done
  node_ready || { tail -30 "$K8S_DIR/logs/kubelet.log" >&2; die "node $NODE_NAME not Ready after 120 s"; }
  # the node registers with the not-ready taint; the node-lifecycle controller that lifts it is off: lift it here
  if api_get "/api/v1/nodes/${NODE_NAME}" | grep -q 'node.kubernetes.io/not-ready'; then
    kubectl --kubeconfig "$KC" taint node "$NODE_NAME" node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
  fi
  log "kubelet pid $(cat "$K8S_DIR/run/kubelet.pid"), node $NODE_NAME Ready"
}

kubelet_down() {
  stop kubelet
  local ids
  ids=$($DOCKER ps -aq --filter name=^/k8s_ --filter label=io.kubernetes.docker.type 2>/dev/null || true)
  # shellcheck disable=SC2086
  [ -n "$ids" ] && $DOCKER rm -f -v $ids >/dev/null && log "removed $(echo "$ids" | wc -w) kubelet containers"
  if [ -d "$KD/root" ]; then
    awk -v r="$KD/root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r \
      | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  fi
  if api_ready; then
    kubectl --kubeconfig "$KC" delete pods -A --field-selector spec.nodeName="$NODE_NAME" --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
    kubectl --kubeconfig "$KC" delete node "$NODE_NAME" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  fi
  rm -f "$KD/dockershim.sock"
  [ -f "$KD/created-var-log-pods" ] && rm -rf /var/log/pods && rm -f "$KD/created-var-log-pods"
  [ -f "$KD/created-var-log-containers" ] && rm -rf /var/log/containers && rm -f "$KD/created-var-log-containers"
  [ -f "$KD/created-var-lib-kubelet" ] && rm -rf /var/lib/kubelet && rm -f "$KD/created-var-lib-kubelet"
  return 0
}

cmd=${1:-up}
mkdir -p "$K8S_DIR"/{bin,src,pki,logs,run}
# one `up`/`down`/`build` at a time on this machine (parallel test runs share the cluster): the second waits
if [ "$cmd" != status ]; then
  exec 9>"$K8S_DIR/run/.lock"
  flock -w 3600 9 || die "another k8s-infra.sh held $K8S_DIR/run/.lock for an hour"
fi
case "$cmd" in
  build)  # binaries only (the slow part), e.g. ahead of time in the background
    packages; build
    ;;
  up)
    packages; build; pki; kubeconfig; control_plane; pause_image; kubelet_up
    log "cluster ready in $(( $(date +%s) - T0 )) s"
    echo "KUBECONFIG=$KC"
    ;;
  down)
    kubelet_down
    for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$name"; done
    [ "${2:-}" = "--purge" ] && rm -rf "$K8S_DIR/etcd-data" "$K8S_DIR/pki" "$K8S_DIR/run" "$KC" "$KD" && log "cluster state wiped (binaries kept)"
    ;;
  status)
    api_ready && echo "kube-apiserver: https://127.0.0.1:${K8S_PORT}" || echo "kube-apiserver: down"
    node_ready && echo "node: $NODE_NAME Ready" || echo "node: down"
    for b in "${BINARIES[@]}"; do [ -x "$BIN/$b" ] && echo "binary: $b" || echo "binary: $b missing"; done
    [ -f "$KC" ] && echo "KUBECONFIG=$KC"
    ;;
  *) die "usage: $0 up|down [--purge]|status|build" ;;
esac
