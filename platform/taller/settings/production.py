"""Production: everything from the environment, nothing insecure by default."""

from django.core.exceptions import ImproperlyConfigured

from .base import *

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 40:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value in production "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

DATABASES = {"default": database_from_env()}
# A web process runs every WebSocket consumer's database calls in a thread of their own:
# persistent connections (CONN_MAX_AGE > 0) stay open one per consumer and ran PostgreSQL
# out of connection slots with 1,000 WebSockets (bench/scale.py). So either a connection
# per request, or, in web processes, a bounded pool that requests borrow from
# (DATABASE_POOL_MAX_SIZE; not in Celery's forked workers, whose pool threads would not
# survive the fork).
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
if DATABASE_POOL_MAX_SIZE:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_MAX_SIZE,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.str("REDIS_URL")
CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
CACHES = {"default": redis_cache(env.str("CACHE_URL", default=REDIS_URL))}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
TALLER_GRADING = env.str("TALLER_GRADING", default="celery")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Inside an LMS's iframe Taller is a third party: its session and CSRF cookies travel
# only with SameSite=None (and Secure), as the LTI 1.3 browser guidance says. CSRF is
# still checked by token and Origin. TALLER_LTI_IFRAME=False keeps them Lax.
if env.bool("TALLER_LTI_IFRAME", default=True):
    SESSION_COOKIE_SAMESITE = "None"
    CSRF_COOKIE_SAMESITE = "None"
    # The language switcher's choice, inside the frame too.
    LANGUAGE_COOKIE_SAMESITE = "None"
    LANGUAGE_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # Preloading binds the whole domain and its subdomains to HTTPS in browsers for good:
    # the operator's decision (SECURE_HSTS_PRELOAD), not a default to warn about.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# One JSON object per line for the log shipper, with the request and run ids as fields.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in LOGGING["formatters"]:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
