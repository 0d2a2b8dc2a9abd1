# The commands a user types. See README.md.
PY := .venv/bin/python

.PHONY: setup dev up down status logs test test-compose test-scale chaos lint bench bench-scale replay

setup:            ## install what is missing (Debian packages, venv, jars, dashboard build)
	bash scripts/setup.sh

dev: setup        ## run the whole product locally (infra, services, Flink job, demo traffic) and print its URLs
	$(PY) -m localstack.stack up all

up: setup         ## start only the infrastructure (Kafka, Flink, Redis, PostgreSQL)
	$(PY) -m localstack.stack up infra

down:             ## stop everything the local stack runs
	$(PY) -m localstack.stack down

status:           ## show what runs and whether it is healthy
	$(PY) -m localstack.stack status

logs:             ## show the tail of every log in the run folder
	$(PY) -m localstack.stack logs

test:             ## install, start the stack, run ruff, mypy and all tests, stop what it started; then the Compose tier
	bash scripts/test.sh

test-compose: setup  ## build every image, `docker compose up --wait`, check the single-node and the scaled stack end to end, `down -v` (gets a Docker engine if none answers)
	bash scripts/compose_tier.sh

replay:           ## rebuild history from Kafka: make replay FROM=2026-11-27T08:00:00Z TO=2026-11-27T09:00:00Z [SPECS=1m/1m]
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make replay FROM=<ISO time> TO=<ISO time> [SPECS=30s/10s,1m/1m]"; exit 2; }
	FLINK_CONF_DIR=$${RUN_DIR:-.run}/flink/conf FLINK_LIB_DIR=$${RUN_DIR:-.run}/flink/lib \
	  $(PY) -m flink_service.replay --from $(FROM) --to $(TO) $(if $(SPECS),--window-specs $(SPECS))

test-scale: setup    ## the Compose tier's scaled stack only: faults under load through the gateway
	bash scripts/compose_tier.sh scale

chaos: setup         ## 10 minutes of random kills under load on the scaled stack; records the result in docs/docker.md
	bash scripts/compose_tier.sh chaos --record docs/docker.md

lint: setup
	.venv/bin/ruff check . && .venv/bin/mypy .

bench: setup      ## every benchmark beside its reference; rewrites docs/benchmarks.md (not part of `make test`)
	$(PY) -m localstack.stack up infra
	$(PY) -m bench.run_all

bench-scale: setup   ## the scaled Compose stack: events/s per core of each component, ingestion at 1 and 2 replicas; rewrites docs/benchmarks/scale.md and the sizing table in docs/docker.md
	bash scripts/compose_tier.sh sizing --record docs/docker.md --record docs/benchmarks/scale.md
