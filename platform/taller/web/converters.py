"""URL converters."""

from __future__ import annotations

from django.urls import register_converter


class IdConverter:
    """A database id: digits that fit a signed 64-bit integer column.

    Django's `int` converter accepts any length, and a bigger number than the database
    can hold is an error on SQLite (the embedded default) instead of a 404.
    """

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


# On import, once per process: every URLconf that uses `<id:...>` imports this module.
register_converter(IdConverter, "id")
