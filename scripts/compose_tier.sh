#!/usr/bin/env bash
# The Compose test tier (`make test-compose`; `make test` runs it after the local tier): on a machine
# with no Docker engine it gets one (scripts/docker_engine.sh: Debian's docker.io, a private dockerd,
# Compose v2, the Debian base image), builds every image, and runs tests/compose/test_stack.py, which
# brings the stack up once with `docker compose up -d --wait` on host ports that do not collide with
# the local stack and checks it as a user would. Then `down -v`, and the engine stops if this
# script started it. Prints the time of each step.
#
# COMPOSE_TIER_KEEP=1 leaves the stack and the engine running for a look afterwards
# (then: `eval "$(bash scripts/docker_engine.sh env)"; docker compose ls`).
set -uo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s)
say() { printf '[compose-tier] %s\n' "$*"; }
step_at=$started_at
step() { local now; now=$(date +%s); say "$1 ($((now - step_at)) s)"; step_at=$now; }

# A project of its own per run: concurrent runs on one engine never touch each other's stack.
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-ra-tier-$$}
finish() {
  rc=$?
  if [ "${COMPOSE_TIER_KEEP:-0}" != 1 ]; then
    docker compose --profile demo down -v --remove-orphans >/dev/null 2>&1 || true
    # Stops the private engine if this script's `start` started one and no other run still uses it.
    bash scripts/docker_engine.sh stop --user $$ || true
  fi
  say "total time: $(( $(date +%s) - started_at ))s (exit $rc)"
  exit $rc
}
trap finish EXIT

engine_env=$(bash scripts/docker_engine.sh start --user $$) || exit 1
eval "$engine_env"
step "engine ready: $(docker version --format 'Docker {{.Server.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/Compose /')"

# The classic builder: BuildKit would fetch its Dockerfile frontend from Docker Hub, unreachable here.
export DOCKER_BUILDKIT=0 COMPOSE_BAKE=false
# One build at a time: the images share their first stages, built once then taken from the cache.
if ! COMPOSE_PARALLEL_LIMIT=1 docker compose --profile demo build --quiet; then
  say "building the images failed"; exit 1
fi
step "images built"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(realtime-analytics|debian)' | sed 's/^/[compose-tier]   /'

export COMPOSE_TIER=1
# Compose v2's binary, which the checks also run standalone as `docker-compose`.
COMPOSE_V2_BINARY=$(docker info --format '{{range .ClientInfo.Plugins}}{{if eq .Name "compose"}}{{.Path}}{{end}}{{end}}' 2>/dev/null)
export COMPOSE_V2_BINARY
.venv/bin/pytest -p no:cacheprovider -v -rs tests/compose/test_stack.py
rc=$?
step "checks done"
exit $rc
