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
             "failed": "red", "cancelled": "slate", "deferred": "amber"}
REPORT_TONES = {"running": "blue", "complete": "green", "truncated": "amber", "failed": "red"}
LINK_TONES = {"synced": "green", "pending": "amber", "failed": "red", "deleted_in_sf": "red", "unlinked": "slate"}
# The Cothon page of each record type that has one (analyses, requirements, comments and
# proposals are shown on their opportunity's page, contacts have none of their own).
RECORD_ROUTES = {"opportunity": "opportunities:detail", "department": "departments:detail", "quote": "quotes:detail",
                 "appointment": "sync_appointments:detail"}
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


@register.simple_tag
def report_pill(value: str, label: str | None = None):
    """A drift report's status: complete, truncated read, failed, running."""
    return _pill(REPORT_TONES.get(str(value), "slate"), label or value)


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


@register.simple_tag
def log_salesforce_url(log) -> str:
    """"Open in Salesforce" for a log row's record: the connection's Lightning URL of it."""
    if not log.salesforce_id or not log.sobject:
        return ""
    return log.connection.record_url(log.sobject, log.salesforce_id)


def log_latency_ms(log) -> int | None:
    """How long the change waited before this row settled it (queued_at → logged), in ms."""
    if log.queued_at is None or log.created_at is None:
        return None
    return max(0, int((log.created_at - log.queued_at).total_seconds() * 1000))


@register.simple_tag
def log_wait(log) -> str:
    """"waited 3.2 s · attempt 2": the row's latency and which attempt it was ("" when it is
    neither: a pause, an action someone took)."""
    parts = []
    latency = log_latency_ms(log)
    if latency is not None:
        parts.append(f"{_wait_text(latency)} after the Salesforce change" if log.direction == "pull"
                     else f"waited {_wait_text(latency)}")
    if log.attempts:
        parts.append(f"attempt {log.attempts}")
    return " · ".join(parts)


def _wait_text(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    if ms < 3_600_000:
        return f"{ms // 60_000} min {ms % 60_000 // 1000:02d} s"
    return f"{ms // 3_600_000} h {ms % 3_600_000 // 60_000:02d} min"


@register.filter
def duration_ms(value) -> str:
    if value in (None, ""):
        return "—"
    value = int(value)
    if value < 1:
        return "under 1 ms"
    if value < 1000:
        return f"{value} ms"
    return f"{value / 1000:.1f} s"


@register.simple_tag
def log_cost(log) -> dict:
    """The cost column of a log row. A Bulk API job writes one row per record: the job's
    time is shared out between them and its calls are counted once, on its first row, so the
    others say they were part of the job instead of "0 ms · 0 calls"."""
    bulk = str(log.operation or "").startswith("bulk_")
    calls = int(log.api_calls or 0)
    if not bulk:
        return {"duration": duration_ms(log.duration_ms), "duration_tip": "Duration",
                "calls": f"{calls} call{'s' if calls != 1 else ''}", "calls_tip": "Salesforce API calls"}
    share = int(log.duration_ms or 0)
    return {"duration": f"{'under 1 ms' if share < 1 else duration_ms(share)} share",
            "duration_tip": "This record's share of the Bulk API job's time",
            "calls": f"Bulk job: {calls} call{'s' if calls != 1 else ''}" if calls else "part of a Bulk job",
            "calls_tip": "A Bulk API job's calls are counted once, on its first row"}


@register.filter
def elapsed(delta: datetime.timedelta | None) -> str:
    if delta is None:
        return "—"
    if delta < datetime.timedelta(seconds=1):
        return "under 1 s"
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


# --- the sync state badge (lists, the record panel) -----------------------------------------------

STATE_ICONS = {
    "in_sync": '<path d="M20 6 9 17l-5-5"/>',
    "pending": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/>',
    "skipped": '<circle cx="12" cy="12" r="9"/><path d="M8 12h8"/>',
    "failed": '<path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0zM12 9v4M12 17h.01"/>',
    "deleted_in_salesforce": '<path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6M10 11v6M14 11v6"/>',
    "conflict": '<path d="M16 3h5v5M4 20 21 3M21 16v5h-5M15 15l6 6M4 4l5 5"/>',
    "not_synced": '<path d="M17.5 19H7a5 5 0 1 1 .9-9.9A6 6 0 0 1 19 11a4 4 0 0 1-1.5 8z"/>',
}


@register.simple_tag(takes_context=True)
def sync_states_for(context, records, record_type: str = "opportunity") -> dict:
    """The sync state of each record of a page in the tenant's default connection, by id: a
    fixed number of queries for the page. {} when the tenant has no default connection (the
    list then has no Salesforce column).

    Iterating `records` evaluates (and caches) the page's queryset, so the table's own loop
    over the same object costs no second query."""
    from integrations.selectors import salesforce_default_connection
    from sync_engine.selectors import record_sync_states

    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return {}
    connection = salesforce_default_connection(tenant=tenant)
    if connection is None:
        return {}
    rows = list(records)
    return record_sync_states(tenant=tenant, record_type=record_type, record_ids=[r.pk for r in rows], connection=connection,
                              versions={r.pk: r.updated_at for r in rows})


@register.filter
def state_of(states: dict, record_id):
    return states.get(record_id) if states else None


@register.filter
def age(value: datetime.datetime | None) -> str:
    """How long ago, in words short enough for a badge's tip ("3 min", "2 h", "4 days")."""
    if not value:
        return ""
    seconds = max(int((timezone.now() - value).total_seconds()), 0)
    if seconds < 60:
        return "under a minute"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''}"


def _state_tip(state) -> str:
    parts = [state.reason]
    if state.state == "pending" and state.since:
        parts.append(f"waiting for {age(state.since)}")
    elif state.state == "in_sync" and state.since:
        parts.append("last synced " + timezone.localtime(state.since).strftime("%b %-d, %Y, %-I:%M %p %Z"))
    if state.code:
        parts.append(state.code)
    return " · ".join(p for p in parts if p)


@register.simple_tag
def sync_badge(state, compact: bool = False, describe: bool = True):
    """A labelled badge: icon + word. `describe`: the reason as its tip and, for screen
    readers, in text (off where the reason is printed next to it). Nothing for no state."""
    if state is None:
        return ""
    icon = mark_safe('<svg class="icon icon-sm" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
                     'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">'
                     + STATE_ICONS.get(state.state, "") + "</svg>")
    label = state.label
    if state.state == "pending" and state.since and not compact:
        label = f"{label} · {age(state.since)}"
    if not describe:
        return format_html('<span class="sync-badge sync-badge-{}" data-sync-state="{}">{}{}</span>',
                           state.tone, state.state, icon, label)
    tip = _state_tip(state)
    return format_html('<span class="sync-badge sync-badge-{}" data-sync-state="{}" title="{}">{}'
                       '<span class="visually-hidden">Salesforce: </span>{}<span class="visually-hidden">. {}</span></span>',
                       state.tone, state.state, tip, icon, label, tip)


# --- a record's panel: own sync history and an in-progress manual sync ----------------------------

@register.simple_tag(takes_context=True)
def record_sync_state(context, record_type: str, record_id, connection=None) -> dict:
    """A record's panel: its sync state in `connection`, its history (latest log rows), the
    active manual sync, and whether the link's last error still needs its own block (not when
    the manual sync's failure above shows the same error)."""
    from sync_engine import selectors

    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None or record_id is None:
        return {"history": [], "active_run": None, "state": None, "show_link_error": False, "show_reason": False}
    history = selectors.record_sync_history(tenant=tenant, record_type=record_type, record_id=record_id)
    active = selectors.record_run_active(tenant=tenant, record_type=record_type, record_id=record_id)
    run_state = None
    if active is not None:
        run_state = selectors.record_run_state(tenant=tenant, run=active)
        if run_state.done and active.created_at < timezone.now() - RESULT_SHOWN_FOR:
            active = run_state = None  # an old result: the panel's own fields tell the story
    state = selectors.record_sync_state(tenant=tenant, record_type=record_type, record_id=record_id, connection=connection)
    link = state.link if state is not None else None
    run_shows_error = run_state is not None and run_state.state == "failed"
    # A skipped record's old error is not its state any more: "Skipped by …" is.
    show_link_error = bool(link and (link.last_error_code or link.last_error_message) and not run_shows_error
                           and not (state is not None and state.state == "skipped"))
    # The reason beside the badge, unless an error block below already says it.
    show_reason = not (show_link_error or (run_shows_error and state is not None and state.state == "failed"))
    return {"history": history, "active_run": active, "active_state": run_state, "state": state,
            "show_link_error": show_link_error, "show_reason": show_reason}


@register.simple_tag(takes_context=True)
def connection_sync_state(context, connection):
    """A connection's one state (in sync / pending with the oldest change's age / failed)."""
    from sync_engine.selectors import connection_sync_state as read

    tenant = getattr(context.get("request"), "tenant", None)
    if tenant is None or connection is None or connection.tenant_id != tenant.pk:
        return None
    return read(tenant=tenant, connection=connection)


# --- a connection's health (sync_engine.health): Connected / Warning / Paused / Needs reconnect / Error

HEALTH_TONES = {"healthy": "green", "warning": "amber", "paused": "amber", "needs_reconnect": "red", "error": "red"}


@register.simple_tag(takes_context=True)
def connection_health(context, connection):
    """The connection's health (status, reasons worst first), or None outside its tenant."""
    from sync_engine.health import connection_health as read

    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None or connection is None or connection.tenant_id != tenant.pk:
        return None
    # Once per connection and request: a connection's page shows it in its header and its card.
    seen = request.__dict__.setdefault("_cothon_connection_health", {})
    if connection.pk not in seen:
        seen[connection.pk] = read(connection=connection)
    return seen[connection.pk]


@register.filter
def health_tone(status: str) -> str:
    return HEALTH_TONES.get(str(status), "slate")


def health_label(health) -> str:
    """"Paused until ~14:05" when the pause has an expected end, else the status's label."""
    if health.status == "paused" and health.paused_until:
        return f"Paused until ~{timezone.localtime(health.paused_until):%H:%M}"
    return health.label


@register.simple_tag
def health_pill(health):
    """The health status as a pill (nothing for no health); its tip is the top reason."""
    if health is None:
        return ""
    top = health.reasons[0].text if health.reasons else "Nothing needs attention."
    return format_html('<span class="pill pill-{} health-pill" data-health="{}" title="{}"><span class="pill-dot" '
                       'aria-hidden="true"></span>{}</span>', health_tone(health.status), health.status, top,
                       health_label(health))


@register.simple_tag
def health_status_pill(status: str):
    """A reason's own status as a small pill (Warning, Error, …)."""
    from sync_engine.health import HealthStatus

    return _pill(health_tone(status), HealthStatus(status).label if status in HealthStatus.values else status)
