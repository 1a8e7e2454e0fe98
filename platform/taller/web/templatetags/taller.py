from __future__ import annotations

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def points(value: float | int | None) -> str:
    """A score as people write it: 10, 7.5 (7,5 in Spanish), 3.33; never 7.50."""
    if value is None:
        return "—"
    rounded = round(float(value), 2)
    if rounded.is_integer():
        return number_format(int(rounded))
    decimals = 1 if round(rounded, 1) == rounded else 2
    return number_format(rounded, decimal_pos=decimals)
