# The commands a user types. See README.md.
PY := .venv/bin/python

.PHONY: setup dev down status logs test lint bench

setup:            ## install what is missing (Debian packages, venv, jars, dashboard build)
	bash scripts/setup.sh

dev: setup        ## start the local stack (Kafka, Flink, Redis, PostgreSQL) and print its URLs
	$(PY) -m localstack.stack up

down:             ## stop everything the local stack started
	$(PY) -m localstack.stack down

status:           ## show what runs and whether it is healthy
	$(PY) -m localstack.stack status

logs:             ## show the tail of every log in the run folder
	$(PY) -m localstack.stack logs

test:             ## install, start the stack, run ruff, mypy and all tests, stop what it started
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check . && .venv/bin/mypy .
