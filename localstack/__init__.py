"""The local stack without Docker (`python -m localstack.stack`), every part supervised by supervisord.

settings (env names, paths) -> processes (ports, tools, health waits) -> supervisor (the programs'
config, supervisord of the run folder, which counts the restarts in its log) -> component (the
lifecycle every part shares) -> infra (Redis, PostgreSQL, Kafka), flink (the session cluster), services
(the product's processes; job_keeper keeps the Flink job running) -> graph (what runs, in which order,
needing what) -> stack (the command line).
"""
