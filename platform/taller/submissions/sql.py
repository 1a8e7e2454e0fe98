"""Submissions' table and column names, quoted, for the few reads written out in SQL
(each says why): taken from the model, so they follow its migrations."""

from __future__ import annotations

from django.db import connection
from django.db.models import Field

from taller.submissions.models import Submission


def table() -> str:
    return connection.ops.quote_name(Submission._meta.db_table)


def column(name: str) -> str:
    field = Submission._meta.get_field(name)
    assert isinstance(field, Field) and field.column  # a concrete field: it has a column
    return connection.ops.quote_name(field.column)
