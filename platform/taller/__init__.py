"""Taller: the Django project (site, API, grading pipeline)."""
