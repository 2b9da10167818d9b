"""Presentation of quote amounts: 12,345.60 with the quote's currency code, never a float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """1234.5 → "1,234.50" (with "CAD" after it when a currency is given)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


@register.filter
def percent(value) -> str:
    """12.50 → "12.5%"; 0 → "—"."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    if not amount:
        return "—"
    return f"{amount.normalize():f}%"
