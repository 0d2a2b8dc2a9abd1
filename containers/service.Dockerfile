# syntax=docker/dockerfile:1
# One image for the Python services (track_service, api_service, sync_service, the watermark
# heartbeat and the demo load generator): they share one dependency set (pyproject.toml), so one
# image is built and cached once; compose picks the service with `command: python -m <service>`.
# The built dashboard is included for api_service (it is a few hundred KB).
#
# Stages: dashboard (node: npm ci && npm run build) -> deps (venv with the pyproject dependencies;
# build tools for the few sdists) -> app (the project installed into that venv) -> runtime (slim,
# no compilers, no node, non-root).

# ---- dashboard: the static build served by api_service at /static/ ----
FROM node:22.18.0-bookworm-slim AS dashboard
WORKDIR /build/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY dashboard/ ./
RUN npm run build

# ---- deps: the Python dependency layer, rebuilt only when pyproject.toml changes ----
FROM python:3.11.14-slim-bookworm AS deps
# build-essential only here: a few transitive dependencies (e.g. crcmod) ship no wheel.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml ./
COPY containers/pyproject_requirements.py ./containers/
RUN python containers/pyproject_requirements.py pyproject.toml > requirements.txt \
 && /opt/venv/bin/pip install -r requirements.txt

# ---- app: the project's packages, installed without touching the dependency layer ----
FROM deps AS app
COPY contracts/ ./contracts/
COPY track_service/ ./track_service/
COPY api_service/ ./api_service/
COPY sync_service/ ./sync_service/
COPY flink_service/ ./flink_service/
COPY tools/ ./tools/
RUN /opt/venv/bin/pip install --no-deps .

# ---- runtime ----
FROM python:3.11.14-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
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
