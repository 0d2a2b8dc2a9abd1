#!/usr/bin/env bash
# The Compose test tier (`make test-compose`; `make test` runs it after the local tier): on a machine
# with no Docker engine it gets one (scripts/docker_engine.sh: Debian's docker.io, a private dockerd,
# Compose v2, the Debian base image), builds every image, and runs the checks of tests/compose: the
# single-node stack (test_stack.py), then the scaled one (test_scale.py: faults under load), each
# brought up once with `docker compose up -d --wait` on host ports that do not collide with the local
# stack. Then `down -v`, and the engine stops if this script started it. Prints the time of each step.
#
#   bash scripts/compose_tier.sh [all]          both stacks (`make test-compose`)
#   bash scripts/compose_tier.sh single|scale   one of them (`make test-scale`: the scaled one)
#   bash scripts/compose_tier.sh chaos [ARGS]   the 10-minute chaos run (`make chaos`; tests/compose/chaos.py)
#   bash scripts/compose_tier.sh sizing [ARGS]  the sizing measurement (`make bench-scale`; bench/bench_scale.py)
#
# COMPOSE_TIER_KEEP=1 leaves the stack and the engine running for a look afterwards
# (then: `eval "$(bash scripts/docker_engine.sh env)"; docker compose ls`).
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
[ $# -gt 0 ] && shift
case "$what" in
  all | single | scale | chaos | sizing) ;;
  *) echo "usage: $0 [all|single|scale|chaos [ARGS]|sizing [ARGS]]" >&2; exit 2 ;;
esac
started_at=$(date +%s)
say() { printf '[compose-tier] %s\n' "$*"; }
step_at=$started_at
step() { local now; now=$(date +%s); say "$1 ($((now - step_at)) s)"; step_at=$now; }

# A project of its own per run: concurrent runs on one engine never touch each other's stack. The
# scaled stack's project is this name plus -scale.
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-ra-tier-$$}
SCALED=(-f docker-compose.yml -f docker-compose.scale.yml)
finish() {
  rc=$?
  if [ "${COMPOSE_TIER_KEEP:-0}" != 1 ]; then
    docker compose --profile demo down -v --remove-orphans >/dev/null 2>&1 || true
    docker compose -p "$COMPOSE_PROJECT_NAME-scale" "${SCALED[@]}" --profile demo down -v --remove-orphans \
      >/dev/null 2>&1 || true
    # Images a rebuild replaced (untagged) would pile up in the engine's data-root run after run (19 GB seen).
    docker image prune -f >/dev/null 2>&1 || true
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
# The scaled files name every image (the gateway's too).
if ! COMPOSE_PARALLEL_LIMIT=1 docker compose "${SCALED[@]}" --profile demo build --quiet; then
  say "building the images failed"; exit 1
fi
step "images built"
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(realtime-analytics|debian)' | sed 's/^/[compose-tier]   /'

export COMPOSE_TIER=1
# Compose v2's binary, which the checks also run standalone as `docker-compose`.
COMPOSE_V2_BINARY=$(docker info --format '{{range .ClientInfo.Plugins}}{{if eq .Name "compose"}}{{.Path}}{{end}}{{end}}' 2>/dev/null)
export COMPOSE_V2_BINARY
# The static checks again, here with Compose v2 (the scaled overlay's need it), then the stacks.
case "$what" in
  all) .venv/bin/pytest -p no:cacheprovider -v -rs tests/compose/test_compose.py tests/compose/test_stack.py \
         tests/compose/test_scale.py ;;
  single) .venv/bin/pytest -p no:cacheprovider -v -rs tests/compose/test_compose.py tests/compose/test_stack.py ;;
  scale) .venv/bin/pytest -p no:cacheprovider -v -rs tests/compose/test_compose.py tests/compose/test_scale.py ;;
  chaos) .venv/bin/python -m tests.compose.chaos "$@" ;;
  sizing) .venv/bin/python -m bench.bench_scale "$@" ;;
esac
rc=$?
step "$what done"
exit $rc
