# PostgreSQL 15 from Debian's package, FROM Debian only. The entrypoint initialises the data
# directory (a named volume) on first start with POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB,
# the variables the official image reads, then runs the server as the `postgres` user.
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
# No default cluster from the package: the entrypoint initialises the volume instead.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/no-main-cluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 0700 /var/lib/postgresql/data
COPY containers/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
