#!/usr/bin/env bash
# Start the servers the production-path tests talk to (PostgreSQL, Redis), when they
# are not already running; install them first on a bare Debian machine (as root).
# Idempotent. Prints the DATABASE_URL and REDIS_URL it made ready.
set -euo pipefail

as_root() { [ "$(id -u)" -eq 0 ]; }
apt_install() {
  as_root && command -v apt-get >/dev/null || { echo "missing: $*; install it" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
wait_for() { # command, what
  for _ in $(seq 1 60); do "$1" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "$2 did not come up" >&2; exit 1
}

# PostgreSQL
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_up; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for pg_up PostgreSQL
fi
# A role of Taller's own with a password works under trust and scram-sha-256 alike.
if as_root; then
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'taller') THEN
    CREATE ROLE taller LOGIN CREATEDB PASSWORD 'taller';
  END IF;
END $$;
SELECT 'CREATE DATABASE taller OWNER taller'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'taller')\gexec
SQL
fi

# Redis
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }
if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/taller.log
  wait_for redis_up Redis
fi

echo "DATABASE_URL=postgres://taller:taller@127.0.0.1:5432/taller"
echo "REDIS_URL=redis://127.0.0.1:6379/0"
