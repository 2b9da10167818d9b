"""Template helpers of the sync-operations UI: result pills, the Salesforce badge of list rows
(one query per page), a record's sync history and in-progress manual sync for its panel."""

from __future__ import annotations

import datetime

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

RESULT_TONES = {"success": "green", "failed": "red", "retrying": "amber", "skipped": "slate", "paused": "amber"}
RUN_TONES = {"queued": "slate", "running": "blue", "succeeded": "green", "finished_with_errors": "amber",
             "failed": "red", "cancelled": "slate"}
LINK_TONES = {"synced": "green", "pending": "amber", "failed": "red", "deleted_in_sf": "red", "unlinked": "slate"}
RECORD_ROUTES = {"opportunity": "opportunities:detail"}
# A manual sync's result stays in the panel this long (the panel reloads when it finishes).
RESULT_SHOWN_FOR = datetime.timedelta(minutes=10)


def _pill(tone: str, label: str):
    return format_html('<span class="pill pill-{}"><span class="pill-dot" aria-hidden="true"></span>{}</span>', tone, label)


@register.simple_tag
def result_pill(value: str, label: str | None = None):
    return _pill(RESULT_TONES.get(str(value), "slate"), label or value)


@register.simple_tag
def run_pill(value: str, label: str | None = None):
    return _pill(RUN_TONES.get(str(value), "slate"), label or value)


@register.filter
def link_tone(value: str) -> str:
    return LINK_TONES.get(str(value), "slate")


@register.filter
def record_type_label(value: str) -> str:
    from sync_engine.models import RecordType

    return dict(RecordType.choices).get(value, value)


@register.simple_tag
def record_url(record_type: str, record_id) -> str:
    """The Cothon page of a synced record, or "" for kinds without a page of their own."""
    name = RECORD_ROUTES.get(record_type or "")
    if not name or record_id is None:
        return ""
    try:
        return reverse(name, args=[record_id])
    except NoReverseMatch:
        return ""


@register.filter
def duration_ms(value) -> str:
    if value in (None, ""):
        return "—"
    value = int(value)
    if value < 1000:
        return f"{value} ms"
    return f"{value / 1000:.1f} s"


@register.filter
def elapsed(delta: datetime.timedelta | None) -> str:
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


@register.filter
def run_took(run) -> str:
    if not run.started_at or not run.finished_at:
        return "—"
    return elapsed(run.finished_at - run.started_at)


# --- the opportunity list's Salesforce badge ---------------------------------------------------

@register.simple_tag(takes_context=True)
def sf_links_for(context, records) -> dict:
    """SyncLinks of these records in the default connection, by id — one query for the page.

    Iterating `records` evaluates (and caches) the page's queryset, so the table's own loop
    over the same object costs no second query."""
    from sync_engine import links as sync_links

    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    return sync_links.opportunity_salesforce_links(tenant=tenant, opportunity_ids=[r.pk for r in records])


@register.simple_tag
def sf_row_badge(links: dict, record_id):
    link = links.get(record_id) if links else None
    if link is None:
        return ""
    parts = [f"Salesforce: {link.get_status_display()}"]
    if link.last_synced_at:
        parts.append("last synced " + timezone.localtime(link.last_synced_at).strftime("%b %-d, %Y, %-I:%M %p %Z"))
    if link.last_error_code:
        parts.append(link.last_error_code)
    tip = " · ".join(parts)
    icon = mark_safe('<svg class="icon icon-sm" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
            'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">'
            '<path d="M17.5 19H7a5 5 0 1 1 .9-9.9A6 6 0 0 1 19 11a4 4 0 0 1-1.5 8z"/></svg>')
    return format_html('<span class="sf-row-badge sf-row-{}" title="{}" role="img" aria-label="{}">{}</span>',
                       link_tone(link.status), tip, tip, icon)


# --- a record's panel: own sync history and an in-progress manual sync ----------------------------

@register.simple_tag(takes_context=True)
def record_sync_state(context, record_type: str, record_id) -> dict:
    """History (latest log rows) and the active manual sync of one record, for its panel."""
    from sync_engine import selectors

    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None or record_id is None:
        return {"history": [], "active_run": None}
    history = selectors.record_sync_history(tenant=tenant, record_type=record_type, record_id=record_id)
    active = selectors.record_run_active(tenant=tenant, record_type=record_type, record_id=record_id)
    state = None
    if active is not None:
        state = selectors.record_run_state(tenant=tenant, run=active)
        if state.done and active.created_at < timezone.now() - RESULT_SHOWN_FOR:
            active = state = None  # an old result: the panel's own fields tell the story
    return {"history": history, "active_run": active, "active_state": state}
