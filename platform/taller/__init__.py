"""Taller: the Django project (site, API, grading pipeline)."""

# Celery's shared tasks bind to this app whenever Django starts.
from taller.celery import app as celery_app

__all__ = ("celery_app",)
