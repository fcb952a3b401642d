"""Amounts and rates written the French way, whatever the interface language."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space: the French thousands separator


def french_number(value: Decimal | int | str, places: int = 2) -> str:
    """12345.5 → "12 345,50" (narrow no-break spaces between thousands)."""
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _dot, fraction = f"{abs(number):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = NNBSP.join(groups)
    return f"{sign}{text},{fraction}" if fraction else f"{sign}{text}"


def euros(value: Decimal | int | str | None) -> str:
    """1234.5 → "1 234,50 €"; None → ""."""
    if value in (None, ""):
        return ""
    return f"{french_number(value)}{NBSP}€"


def percent(value: Decimal | int | str | None) -> str:
    """Decimal("5.50") → "5,5 %"; Decimal("20.00") → "20 %"."""
    if value in (None, ""):
        return ""
    number = Decimal(str(value)).normalize()
    text = f"{number:f}".replace(".", ",")
    return f"{text}{NBSP}%"
