"""Presentation helpers for the HTML pages: money ranges, status pills, closing dates, links
that exist only when their route does."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

# Pill colour family per status value; unknown values fall back to neutral.
STATUS_TONES = {
    # opportunities
    "identified": "slate",
    "analyzing": "violet",
    "pursuing": "blue",
    "submitted": "amber",
    "won": "green",
    "lost": "red",
    # analyses, proposals
    "not_started": "slate",
    "in_progress": "blue",
    "complete": "green",
    "completed": "green",
    "draft": "slate",
    "ready": "violet",
    # quotes
    "scoping": "violet",
    "sent": "blue",
    "accepted": "green",
    "declined": "red",
    # requirements
    "met": "green",
    "partial": "amber",
    "not_met": "red",
    "unknown": "slate",
    "mandatory": "red",
    "rated": "blue",
    # Salesforce connections and links
    "connected": "green",
    "synced": "green",
    "pending": "amber",
    "needs_reconnect": "red",
    "failed": "red",
    "disconnected": "slate",
    "deleted_in_sf": "red",
    "unlinked": "slate",
}


@register.filter
def cad(value) -> str:
    """A CAD amount: $100,000 (cents only when there are some)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount == amount.to_integral_value():
        return f"{sign}${amount:,.0f}"
    return f"{sign}${amount:,.2f}"


@register.simple_tag
def cad_range(value_min, value_max, empty: str = "—") -> str:
    """$100,000 – $250,000; "From $X" / "Up to $Y" when one end is open."""
    if value_min is None and value_max is None:
        return empty
    if value_max is None:
        return f"From {cad(value_min)}"
    if value_min is None:
        return f"Up to {cad(value_max)}"
    if Decimal(value_min) == Decimal(value_max):
        return cad(value_min)
    return f"{cad(value_min)} – {cad(value_max)}"


@register.simple_tag
def pill(value: str, label: str | None = None):
    """A coloured status pill. `label` is the human text (get_FOO_display)."""
    tone = STATUS_TONES.get(str(value), "slate")
    return format_html('<span class="pill pill-{}"><span class="pill-dot" aria-hidden="true"></span>{}</span>',
                       tone, label if label is not None else value)


@register.filter
def tone(value: str) -> str:
    return STATUS_TONES.get(str(value), "slate")


@register.simple_tag
def closing_hint(closing_date: datetime.date | None) -> dict:
    """Days until a closing date, counted in the active (tenant's) time zone."""
    if not closing_date:
        return {"text": "", "tone": ""}
    days = (closing_date - timezone.localdate()).days
    if days < 0:
        text = "Closed yesterday" if days == -1 else f"Closed {-days} days ago"
        return {"text": text, "tone": "past"}
    if days == 0:
        return {"text": "Closes today", "tone": "urgent"}
    if days == 1:
        return {"text": "Closes tomorrow", "tone": "urgent"}
    return {"text": f"In {days} days", "tone": "urgent" if days <= 7 else "soon" if days <= 21 else ""}


@register.simple_tag
def url_or_empty(name: str, *args) -> str:
    """The URL of a named route, or "" when this server has no such route (yet)."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


@register.filter
def initials(user) -> str:
    if user is None:
        return "?"
    full = (user.get_full_name() or "").strip()
    parts = full.split() if full else [user.get_username()]
    letters = "".join(p[0] for p in parts[:2] if p)
    return (letters or "?").upper()


@register.filter
def display_name(user) -> str:
    if user is None:
        return "Someone"
    return (user.get_full_name() or "").strip() or user.get_username()


@register.filter
def lines(text: str) -> list[str]:
    return [line.strip(" -•\t") for line in (text or "").splitlines() if line.strip(" -•\t")]


@register.filter
def thousands(value) -> str:
    """1,240 — the same separator as the money amounts, whatever the locale's format says."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)
