"""Template filters: `{{ amount|euros }}` → "1 234,50 €", `{{ rate|percent }}` → "5,5 %"."""

from __future__ import annotations

from typing import Any

from django import template

from comptoir.company import formatting

register = template.Library()


@register.filter
def euros(value: Any) -> str:
    return formatting.euros(value)


@register.filter
def percent(value: Any) -> str:
    return formatting.percent(value)
