"""Settings for the test suite.

The database is the real PostgreSQL when DATABASE_URL points at it (as `make test` and
.ci/run do), so the production path is what gets tested.
"""

from .base import *

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Tests sign users in thousands of times; Argon2's deliberate slowness buys nothing here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the shared-cache in-memory database, whose table locks fail at once
    # ("database table is locked") when a grading thread writes beside the test.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Each test starts with an empty cache (tests/conftest.py); a shared Redis one would
# outlive the test's rolled-back database.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tasks run where they are queued, so a test follows a submission to its verdict
# deterministically; the production-path tests use real workers instead.
TALLER_GRADING = "celery"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
