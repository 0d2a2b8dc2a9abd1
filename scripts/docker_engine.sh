#!/usr/bin/env bash
# A Docker engine for the Compose stack on a machine that has none, without touching the machine's
# network: Debian's docker.io with a private dockerd (overlay2, iptables off, its own socket,
# data-root, exec-root and pid file), Compose v2 built from its Go module, and the base image
# debian:bookworm-slim made with debootstrap from the Debian mirror apt uses when it cannot be pulled.
#
#   eval "$(bash scripts/docker_engine.sh start)"  # install what is missing, start the engine, export
#                                                  # DOCKER_HOST (and the classic builder) for this shell
#   bash scripts/docker_engine.sh stop     # stop the private engine (only one this script started,
#                                          # and only when no run registered with --user PID still lives)
#   bash scripts/docker_engine.sh env      # print those exports for the private engine
#   bash scripts/docker_engine.sh ca       # refresh containers/extra-ca/ from this machine's trust store
#   bash scripts/docker_engine.sh compose  # build (once) and print the path of Compose v2's binary
#
# Everything slow is cached outside the repo, in $RA_CACHE_DIR (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/realtime-analytics): the Compose binary, the Go module cache it is
# built from, the debootstrap base as a tarball, and the engine's data-root (images and build cache),
# so the next run, from any clone, starts warm. A DOCKER_HOST (or default socket) that answers is
# used as it is: nothing is installed or started then.
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE_VERSION=${COMPOSE_VERSION:-v2.40.3}
BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
CACHE=${RA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/realtime-analytics}
# One engine per cache (a data-root has one daemon). Sockets have a short path limit: the engine's
# runtime files live under /run, named after the cache, its data in the cache.
EXEC_ROOT=${RA_ENGINE_RUN_DIR:-/run/realtime-analytics-docker-$(printf '%s' "$CACHE" | cksum | cut -d' ' -f1)}
SOCKET=$EXEC_ROOT/docker.sock
PLUGIN_DIR=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins

say() { printf '[engine] %s\n' "$*" >&2; }
die() { printf '[engine] error: %s\n' "$*" >&2; exit 1; }

engine_answers() { timeout 10 docker ${1:+-H "$1"} version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v go >/dev/null || missing+=(golang-go)
  ((${#missing[@]})) || return 0
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: run as root or install them with apt-get"
  say "installing Debian packages: ${missing[*]}"
  # Keep the packages' own services from starting: only the private engine below runs.
  local policy=/usr/sbin/policy-rc.d had_policy=0
  [ -e "$policy" ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: is the Debian package mirror reachable?"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
  [ $had_policy = 1 ] || rm -f "$policy"
}

start_dockerd() {
  if [ -S "$SOCKET" ] && engine_answers "unix://$SOCKET"; then
    say "private engine already running at unix://$SOCKET"; return 0
  fi
  [ "$(id -u)" = 0 ] || die "no Docker engine answers and starting one needs root (or set DOCKER_HOST)"
  mkdir -p "$EXEC_ROOT" "$CACHE/engine"
  say "starting a private dockerd (data in $CACHE/engine, socket unix://$SOCKET)"
  # iptables, ip6tables and forwarding off: the engine never changes the machine's firewall or
  # routes. Containers on a Compose network still reach each other by name, published ports work
  # through docker-proxy on the host, and builds use the host network to reach the registries.
  setsid dockerd --host "unix://$SOCKET" --data-root "$CACHE/engine" --exec-root "$EXEC_ROOT/exec" \
    --pidfile "$EXEC_ROOT/dockerd.pid" --storage-driver overlay2 \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    >"$EXEC_ROOT/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$EXEC_ROOT/started-by-script"
  local deadline=$((SECONDS + 60))
  until engine_answers "unix://$SOCKET"; do
    kill -0 "$(cat "$EXEC_ROOT/started-by-script")" 2>/dev/null \
      || die "dockerd exited: $(tail -5 "$EXEC_ROOT/dockerd.log")"
    ((SECONDS < deadline)) || die "dockerd did not answer within 60 s: $(tail -5 "$EXEC_ROOT/dockerd.log")"
    sleep 0.5
  done
}

# Runs using the engine register their pid (`start --user PID`); `stop --user PID` stops the engine
# only when no other registered run is still alive, so concurrent test runs share it safely.
register_user() { mkdir -p "$EXEC_ROOT/users"; touch "$EXEC_ROOT/users/$1"; }

other_users_alive() {
  local entry
  for entry in "$EXEC_ROOT"/users/*; do
    [ -e "$entry" ] || continue
    if kill -0 "${entry##*/}" 2>/dev/null; then return 0; fi
    rm -f "$entry"
  done
  return 1
}

stop_dockerd() {
  local pid_file=$EXEC_ROOT/started-by-script pid
  [ -n "${1:-}" ] && rm -f "$EXEC_ROOT/users/$1"
  [ -f "$pid_file" ] || { say "no private engine started by this script"; return 0; }
  if other_users_alive; then
    say "the private engine stays up: other runs use it ($(ls "$EXEC_ROOT/users" | tr '\n' ' '))"; return 0
  fi
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping the private dockerd (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "dockerd did not stop in 30 s: killing it"; kill -KILL "$pid"; }
  fi
  # dockerd stops the containerd it started; a leftover one (dockerd killed) goes too.
  local containerd_pid=$EXEC_ROOT/exec/containerd/containerd.pid
  if [ -f "$containerd_pid" ] && kill -0 "$(cat "$containerd_pid")" 2>/dev/null; then
    kill -TERM "$(cat "$containerd_pid")" || true
  fi
  # What dockerd leaves mounted in its exec-root (the default network namespace) goes too.
  awk -v root="$EXEC_ROOT/" 'index($2, root) == 1 {print $2}' /proc/mounts | xargs -r -n1 umount 2>/dev/null || true
  rm -f "$pid_file" "$SOCKET"
}

compose_binary() {
  local bin=$CACHE/compose/$COMPOSE_VERSION/docker-compose
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "Go is needed to build Compose $COMPOSE_VERSION (apt-get install golang-go)"
    say "building Compose $COMPOSE_VERSION from its Go module (first time only, a few minutes)"
    local started=$SECONDS
    # Its own module and build caches, so a cold cache is really cold and nothing lands in ~/go.
    # (`go install ...@version` is refused: the module's go.mod has exclude directives.)
    export GOPATH=$CACHE/go GOMODCACHE=$CACHE/go/mod GOCACHE=$CACHE/go/build GOFLAGS=-mod=mod
    local dir
    dir=$(go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
    mkdir -p "$(dirname "$bin")"
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -o "$bin.tmp" \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" ./cmd) \
      || die "building Compose failed (see above)"
    mv "$bin.tmp" "$bin"
    say "Compose $COMPOSE_VERSION built in $((SECONDS - started)) s"
  fi
  echo "$bin"
}

install_compose_plugin() {
  if docker compose version 2>/dev/null | grep -q 'v2\.'; then return 0; fi
  local bin
  bin=$(compose_binary)
  mkdir -p "$PLUGIN_DIR"
  ln -sfn "$bin" "$PLUGIN_DIR/docker-compose"
  say "Compose $COMPOSE_VERSION installed as the docker CLI plugin ($PLUGIN_DIR/docker-compose)"
}

base_image() {
  docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  if timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  local tarball=$CACHE/base/${BASE_IMAGE//[:\/]/_}.tar
  if [ ! -f "$tarball" ]; then
    [ "$BASE_IMAGE" = debian:bookworm-slim ] || die "cannot pull $BASE_IMAGE and only debian:bookworm-slim can be made here"
    local mirror rootfs
    mirror=$(debian_mirror)
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/ra-rootfs.XXXXXX")
    say "no image registry: making $BASE_IMAGE with debootstrap from $mirror"
    local started=$SECONDS
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
      || die "debootstrap failed: $(tail -5 "$rootfs.log")"
    slim_rootfs "$rootfs"
    mkdir -p "$(dirname "$tarball")"
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs" "$rootfs.log"
    say "debootstrap done in $((SECONDS - started)) s"
  fi
  docker import -c 'CMD ["bash"]' "$tarball" "$BASE_IMAGE" >/dev/null
  say "imported $BASE_IMAGE from $tarball"
}

slim_rootfs() {
  # What the official image's build (debuerreotype) does to a minbase: the release, its updates and
  # security sources; apt keeps no .deb files or caches after installs; dpkg skips docs, man pages
  # and translations (slim); no package lists in the image.
  local rootfs=$1
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
  printf 'Acquire::Languages "none";\n' > "$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  printf 'Acquire::GzipIndexes "true";\n' > "$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/lintian/*
CONF
  find "$rootfs/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete
  rm -rf "$rootfs"/usr/share/{info,locale,man,lintian}/* "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  # Java's package creates links in man1 even when man pages are excluded.
  mkdir -p "$rootfs/usr/share/man/man1"
}

debian_mirror() {
  # The mirror apt uses (deb822 or one-line sources), else Debian's default.
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list 2>/dev/null \
        | grep -v security | head -1 | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//; s/ .*//')
  echo "${uri:-http://deb.debian.org/debian}"
}

refresh_extra_ca() {
  # Certificates this machine trusts beyond Debian's stock set (e.g. a TLS-intercepting proxy's CA),
  # so that pip, npm and Maven inside the builds trust them too. Nothing here is committed.
  python3 containers/extra_ca.py --from-host containers/extra-ca >&2
}

command=${1:-}
# The run using the engine: --user PID, else the shell that called this script.
user_pid=$PPID
[ "${2:-}" = --user ] && user_pid=${3:?--user needs a pid}
case "$command" in
  start)
    if [ -n "${DOCKER_HOST:-}" ] && engine_answers "$DOCKER_HOST"; then
      say "using the engine at DOCKER_HOST=$DOCKER_HOST"
    elif [ -z "${DOCKER_HOST:-}" ] && engine_answers ""; then
      say "using the default Docker engine"
    else
      install_packages
      start_dockerd
      [ -z "$user_pid" ] || register_user "$user_pid"
      export DOCKER_HOST=unix://$SOCKET
    fi
    install_compose_plugin
    base_image
    refresh_extra_ca
    if [ "${DOCKER_HOST:-}" = "unix://$SOCKET" ]; then
      # This engine has no BuildKit frontend to reach (no registry): the classic builder.
      echo "export DOCKER_HOST=$DOCKER_HOST DOCKER_BUILDKIT=0 COMPOSE_BAKE=false"
    else
      echo "export DOCKER_HOST=${DOCKER_HOST:-}"
    fi
    ;;
  stop) stop_dockerd "$user_pid" ;;
  env) echo "export DOCKER_HOST=unix://$SOCKET DOCKER_BUILDKIT=0 COMPOSE_BAKE=false" ;;
  ca) refresh_extra_ca ;;
  compose) compose_binary ;;
  base) export DOCKER_HOST=${DOCKER_HOST:-unix://$SOCKET}; base_image ;;
  daemon) install_packages; start_dockerd ;;
  *) echo "usage: $0 start|stop|env|ca|compose" >&2; exit 2 ;;
esac
