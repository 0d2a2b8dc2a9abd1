#!/usr/bin/env bash
# The one test command (`make test`): installs what is missing, starts the local stack,
# runs ruff, mypy and every test, then stops what it started (a stack that was already
# running is left running); then, when all that passed, the Compose tier
# (scripts/compose_tier.sh: every image built, the stack up and checked end to end).
# SKIP_COMPOSE_TIER=1 runs the local tier only. Prints the total time.
set -uo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s)
run_dir=${RUN_DIR:-.run}   # the stack's run folder, as localstack.settings reads it
# What this run started (empty: it found everything running). Kept here, not in the run folder, which
# other test runs may share: `down` with no names would stop the whole stack.
started_by_test=""
stop_local_stack() {
  if [ -n "$started_by_test" ]; then
    .venv/bin/python -m localstack.stack down $started_by_test || true
    started_by_test=""
  fi
}
finish() {
  rc=$?
  stop_local_stack
  echo "[test] total time: $(( $(date +%s) - started_at ))s (exit $rc)"
  exit $rc
}
trap finish EXIT

bash scripts/setup.sh || exit 1
.venv/bin/python -m localstack.stack up infra || exit 1
started_by_test=$(.venv/bin/python -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))))' \
  "$run_dir/started.json") || exit 1

echo "[test] ruff"
.venv/bin/ruff check . || exit 1
echo "[test] mypy"
.venv/bin/mypy . || exit 1
echo "[test] pytest"
export ANALYTICS_STACK=local
.venv/bin/pytest -p no:cacheprovider -v -rfEs "$@" || exit $?

[ "${SKIP_COMPOSE_TIER:-0}" = 1 ] && { echo "[test] SKIP_COMPOSE_TIER=1: the Compose tier did not run"; exit 0; }
# The local stack's memory and CPU go back before the containers start.
stop_local_stack
echo "[test] local tier done in $(( $(date +%s) - started_at ))s; the Compose tier"
bash scripts/compose_tier.sh
