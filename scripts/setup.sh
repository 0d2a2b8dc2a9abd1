#!/usr/bin/env bash
# Installs what the project needs on this machine, only what is missing (idempotent):
# Debian packages (Redis 7, PostgreSQL 15, a JDK, Maven, Node.js), the Python venv with the
# project's dependencies, the Kafka and Flink-connector jars (Maven), and the dashboard build (npm).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

apt_missing=()
command -v redis-server >/dev/null || apt_missing+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/postgres ] || apt_missing+=(postgresql-15)
command -v java >/dev/null || apt_missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || apt_missing+=(maven)
command -v npm >/dev/null || apt_missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || apt_missing+=(chromium)              # the dashboard's browser test
command -v docker-compose >/dev/null || apt_missing+=(docker-compose)  # validates docker-compose.yml
if ((${#apt_missing[@]})); then
  [ "$(id -u)" = 0 ] || die "missing ${apt_missing[*]}: run this as root or install them with apt-get"
  say "installing Debian packages: ${apt_missing[*]}"
  # Keep the packages' own services (system Redis/PostgreSQL on 6379/5432) from starting:
  # the local stack runs its own instances in .run/.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: is the Debian package mirror reachable?"
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null \
    || die "apt-get install ${apt_missing[*]} failed (see above)"
  [ $had_policy = 1 ] || rm -f "$policy"
fi

python_bin=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "Python 3.11 is required (found $("$python_bin" --version)); set PYTHON=/path/to/python3.11"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $("$python_bin" --version)"
  "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing Python dependencies into .venv (apache-flink is large: first time takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]' || die "pip install failed (see above)"
  rm -f .venv/.installed-*; touch "$stamp"
fi

# The jars are resolved again whenever localstack/pom.xml changes (a stamp named by its hash).
jars_stamp="localstack/target/.resolved-$(sha256sum localstack/pom.xml | cut -c1-16)"
if [ ! -f "$jars_stamp" ]; then
  rm -rf localstack/target/kafka-libs localstack/target/flink-libs localstack/target/.resolved-*
fi
if ! ls localstack/target/kafka-libs/kafka_2.13-*.jar >/dev/null 2>&1; then
  say "resolving Kafka jars with Maven"
  mvn -q -B -f localstack/pom.xml dependency:copy-dependencies -P kafka \
    || die "Maven could not resolve the Kafka jars (see above)"
fi
if ! ls localstack/target/flink-libs/flink-sql-connector-kafka-*.jar >/dev/null 2>&1; then
  say "resolving the Flink Kafka SQL connector with Maven"
  mvn -q -B -f localstack/pom.xml dependency:copy-dependencies -P 'flink,!kafka' \
    || die "Maven could not resolve flink-sql-connector-kafka (see above)"
fi
touch "$jars_stamp"

functions_jar=flink_service/functions/target/event-functions.jar
if [ ! -f "$functions_jar" ] || [ -n "$(find flink_service/functions/src flink_service/functions/pom.xml -newer "$functions_jar" 2>/dev/null | head -1)" ]; then
  say "building the Flink job's Java functions with Maven"
  mvn -q -B -f flink_service/functions/pom.xml package || die "Maven could not build flink_service/functions (see above)"
fi

if [ -f dashboard/package.json ]; then
  if [ ! -d dashboard/node_modules ] || [ dashboard/package-lock.json -nt dashboard/node_modules ]; then
    say "installing dashboard packages with npm"
    (cd dashboard && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed (see above)"
  fi
  if [ ! -f dashboard/dist/index.html ] || [ -n "$(find dashboard/src dashboard/index.html -newer dashboard/dist/index.html 2>/dev/null | head -1)" ]; then
    say "building the dashboard"
    (cd dashboard && npm run build --silent) || die "dashboard build failed (see above)"
  fi
fi
say "ok"
