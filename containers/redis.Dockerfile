# Redis from Debian's package (Debian 12: Redis 7.0), FROM Debian only. The entrypoint sets the
# password from REDIS_PASSWORD and keeps data in /var/lib/redis (a named volume, append-only file),
# so the windows not yet synced to PostgreSQL survive `docker compose down` / `up`.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- base: Debian with the system trust store, plus containers/extra-ca/*.crt (optional) ----
FROM ${BASE_IMAGE} AS base
COPY containers/extra-ca/ /usr/local/share/ca-certificates/extra/
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && update-ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# ---- runtime ----
FROM base AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/redis && chown redis:redis /var/lib/redis && chmod 0750 /var/lib/redis
COPY containers/redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh
USER redis
WORKDIR /var/lib/redis
ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]
