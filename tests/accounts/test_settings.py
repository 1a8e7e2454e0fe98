"""Production settings refuse to run insecurely."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

GOOD = {
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "taller.example.org",
    "DATABASE_URL": "postgres://taller@db/taller",
    "REDIS_URL": "redis://redis:6379/0",
}


def load_production(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {*GOOD, "DJANGO_SETTINGS_MODULE"}}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='taller.settings.production';"
        "from django.conf import settings;"
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_HSTS_SECONDS > 0, settings.DATABASES['default']['ENGINE'],"
        " settings.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_is_secure_by_default() -> None:
    result = load_production(GOOD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "django.db.backends.postgresql",
        "channels_redis.core.RedisChannelLayer",
    ]


@pytest.mark.parametrize(
    "env",
    [
        {**GOOD, "SECRET_KEY": "django-insecure-taller-development-key-do-not-use-in-production"},
        {**GOOD, "SECRET_KEY": "short"},
        {k: v for k, v in GOOD.items() if k != "SECRET_KEY"},
        {k: v for k, v in GOOD.items() if k != "DATABASE_URL"},
    ],
)
def test_production_refuses_to_start_without_real_secrets(env: dict[str, str]) -> None:
    result = load_production(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
