#!/usr/bin/env bash
# Redis entrypoint: the password from REDIS_PASSWORD, data (append-only file) in /var/lib/redis.
# Extra arguments go to redis-server.
#   health   the healthcheck: an authenticated PING, as a client sends
set -euo pipefail
if [ "${1:-}" = health ]; then
  answer=$(REDISCLI_AUTH=${REDIS_PASSWORD:-} redis-cli -h 127.0.0.1 ping)
  [ "$answer" = PONG ] || { echo "redis answered: $answer" >&2; exit 1; }
  exit 0
fi
args=(--bind 0.0.0.0 --protected-mode no --dir /var/lib/redis --appendonly yes --appendfsync everysec --save "")
if [ -n "${REDIS_PASSWORD:-}" ]; then
  # Through stdin, so the password is not on the command line `ps` shows.
  exec redis-server - "${args[@]}" "$@" <<< "requirepass \"${REDIS_PASSWORD//\"/\\\"}\""
fi
exec redis-server "${args[@]}" "$@"
