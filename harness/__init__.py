"""What the tests and the benchmarks both need to drive the real pipeline, in one importable package.

infra (where the servers are, unique names, free ports, the local Flink cluster), waiting (poll with a
deadline), services (a product process started and waited for), kafka (private topics, offsets),
stores (Redis prefixes and PostgreSQL schemas: fill, read, clean up), windows (a window factory and the
pub/sub collector), flink_job (the metrics job on a private topic, prefix and name).

Tests reach it through their fixtures (tests/conftest.py, tests/<package>/fixtures.py); benchmarks import
it directly. Nothing in the product imports it.
"""
