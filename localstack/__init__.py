"""The local stack without Docker (`python -m localstack.stack`), one module per job:

settings (env names, paths) -> processes (pid files, ports, spawn, stop, wait) -> component (the
lifecycle every part shares) -> infra (Redis, PostgreSQL, Kafka), flink (the session cluster and its
healing), services (the product's processes and the Flink job) -> graph (what runs, in which order,
needing what) -> stack (the command line).
"""
