# The entry point of the scaled stack (docker-compose.scale.yml): HAProxy from Debian's package
# (Debian 12: HAProxy 2.6), FROM Debian only. One host port for ingestion, one for the API; each
# spreads requests over the replicas Docker's DNS names, health-checks them, retries a request whose
# replica vanished on another one, and passes WebSocket upgrades through (containers/gateway.cfg).
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
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
COPY containers/gateway.cfg /etc/haproxy/gateway.cfg
COPY containers/gateway-entrypoint.sh /usr/local/bin/gateway-entrypoint.sh
# Debian's package made the haproxy user; the ports are above 1024, so it needs no privilege.
USER haproxy
ENTRYPOINT ["/usr/local/bin/gateway-entrypoint.sh"]
