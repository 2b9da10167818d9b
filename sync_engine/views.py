"""HTML pages of sync operations: sync logs (filter, keyset pages, CSV export), Sync Now with a
live progress bar and cancel, API usage per connection, and the status of a record's manual
sync (polled by the record page's Salesforce panel).

Roles: viewers read logs, usage and statuses; admins start and cancel Sync Now. Every lookup is
scoped to request.tenant, so another tenant's id is a 404."""

from __future__ import annotations


from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import is_htmx, tenant_page, tenant_zone
from integrations.salesforce.errors import HINTS
from sync_engine import log_actions, log_selectors, partner_actions, selectors, services
from sync_engine.csv_export import sync_log_csv_response
from sync_engine.forms import LogFilterForm, SyncNowForm
from sync_engine.governor import get_governor
from sync_engine.health import connection_health, percent_used
from sync_engine.models import SyncLog, SyncRunKind, SyncRunStatus
from sync_engine.reconcile import service as reconcile_service

USAGE_HOURS = (24, 48)


# --- overview --------------------------------------------------------------------------------

@tenant_page("viewer")
@require_GET
def sync_index(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    connections = list(selectors.sync_connection_list(tenant=tenant).order_by("-is_default", "name"))
    rows = []
    for connection in connections:
        rows.append({"connection": connection, "active_run": selectors.sync_run_active(tenant=tenant, connection=connection),
                     "last_run": next(iter(selectors.sync_run_list(tenant=tenant, connection=connection, limit=1)), None),
                     "health": connection_health(connection=connection)})
    return render(request, "sync_engine/index.html", {"rows": rows})


# --- sync logs -------------------------------------------------------------------------------

def _log_filter_form(request: HttpRequest) -> LogFilterForm:
    form = LogFilterForm(request.GET, tenant=request.tenant)
    form.is_valid()  # invalid fields show their message; the valid ones still filter
    return form


@tenant_page("viewer")
@require_GET
def log_list(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = _log_filter_form(request)
    filters = form.filters()
    before, after = form.cursor()
    page = selectors.sync_log_page(tenant=tenant, filters=filters, before=before, after=after)
    total, total_more = selectors.sync_log_count(tenant=tenant, filters=filters) if page.rows else (0, False)
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    for key in [k for k, v in query.items() if v == ""]:
        query.pop(key)
    base_qs = query.urlencode()
    # The panel sums the whole filtered log (any page): shown with the first page only.
    groups = log_selectors.error_groups(tenant=tenant, filters=filters) if before is None and after is None else []
    context = {
        "form": form,
        "page": page,
        "filters": filters,
        "filters_active": filters.active,
        "base_qs": base_qs,
        "export_url": reverse("sync:logs_csv") + (f"?{base_qs}" if base_qs else ""),
        "error_codes": sorted(HINTS),
        "connection_names": {c.pk: c.name for c in form.connections},
        "is_first_page": before is None and after is None,
        "total": total, "total_more": total_more,
        "filter_errors": _filter_errors(form),
        "groups": groups,
        "retryable_total": sum(g.retryable for g in groups),
        "group_scan": log_selectors.GROUP_SCAN,
        "is_admin": request.membership.has_role("admin"),
        "skippable_types": log_actions.SKIPPABLE_TYPES,
    }
    template = "sync_engine/_log_results.html" if is_htmx(request) and request.htmx.target == "sync-log-results" else "sync_engine/logs.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _filter_errors(form: LogFilterForm) -> list[tuple[str, str]]:
    return [(str(form.fields[name].label or "") if name in form.fields else "", error)
            for name, errors in form.errors.items() for error in errors]


@tenant_page("viewer")
@require_GET
def log_csv(request: HttpRequest) -> HttpResponse:
    form = _log_filter_form(request)
    if form.errors:
        # Exporting "everything" because a filter was mistyped would hand over the wrong data.
        messages.error(request, "Fix the filters before exporting: " + "; ".join(
            f"{label}: {error}" if label else error for label, error in _filter_errors(form)))
        return redirect(reverse("sync:logs") + "?" + request.GET.urlencode())
    zone = tenant_zone(request)
    return sync_log_csv_response(tenant=request.tenant, filters=form.filters(), zone=zone,
                                 today=timezone.localdate(timezone=zone))


# --- sync logs: retry and skip failed records (admin, like Sync Now) ---------------------------

ACTION_LABELS = {"retry": "Retry", "skip": "Skip"}


def _logs_url(query: str) -> str:
    return reverse("sync:logs") + (f"?{query}" if query else "")


@tenant_page("admin")
def log_failed_action(request: HttpRequest, action: str) -> HttpResponse:
    """Retry (or Skip) the records still failing among the failed rows of the current filters,
    or of one error group. GET shows how many records it concerns and asks to confirm; POST
    (with CSRF) does it and returns to the log with the count."""
    if action not in ACTION_LABELS:
        raise Http404("No such action.")
    data = request.POST if request.method == "POST" else request.GET
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    form = LogFilterForm(data, tenant=request.tenant)
    form.is_valid()
    query = data.copy()
    for key in ("before", "after", "group", "csrfmiddlewaretoken"):
        query.pop(key, None)
    for key in [k for k, v in query.items() if v == ""]:
        query.pop(key)
    back = _logs_url(query.urlencode())
    if form.errors:
        messages.error(request, "Fix the filters first: " + "; ".join(
            f"{label}: {error}" if label else error for label, error in _filter_errors(form)))
        return redirect(back)
    group = None
    if data.get("group"):
        try:
            group = log_selectors.GroupKey.parse(data["group"])
        except ValueError:
            messages.error(request, "That error group is not one of this log's.")
            return redirect(back)
        selectors.sync_connection_get(tenant=request.tenant, pk=group.connection_id)  # another tenant's: 404
    filters = form.filters()
    if request.method == "POST":
        if action == "retry":
            outcome = log_actions.failed_records_retry(tenant=request.tenant, filters=filters, group=group, actor=request.user)
            _retry_messages(request, outcome)
        else:
            skipped = log_actions.failed_records_skip(tenant=request.tenant, filters=filters, group=group, actor=request.user)
            _skip_messages(request, skipped)
        return redirect(back)
    to_queue, queued = log_selectors.retry_preview(tenant=request.tenant, filters=filters, group=group,
                                                   limit=log_actions.RETRY_LIMIT)
    skippable = 0
    if action == "skip":
        skippable = sum(1 for r in log_selectors.failing_records(tenant=request.tenant, filters=filters, group=group,
                                                                 limit=log_actions.RETRY_LIMIT)
                        if r.record_type in log_actions.SKIPPABLE_TYPES)
    groups = [g for g in log_selectors.error_groups(tenant=request.tenant, filters=filters)
              if group is not None and g.key == group.encode()]
    return render(request, "sync_engine/log_action_confirm.html", {
        "action": action, "label": ACTION_LABELS[action], "to_queue": to_queue, "already_queued": queued,
        "skippable": skippable, "not_skippable": to_queue + queued - skippable, "group": groups[0] if groups else None,
        "group_value": data.get("group", ""), "hidden": [(k, v) for k, values in query.lists() for v in values],
        "back": back, "filters_active": filters.active, "limit": log_actions.RETRY_LIMIT,
    })


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def _retry_messages(request: HttpRequest, outcome: log_actions.RetryOutcome) -> None:
    if outcome.queued:
        messages.success(request, f"Retrying {_plural(outcome.queued, 'record')}: queued to be sent to Salesforce again. "
                                  "Their new results appear here as the worker sends them.")
    else:
        messages.info(request, "Nothing to retry: no record matching these filters is still failing"
                               + (" (the others are queued already)." if outcome.already_queued else "."))
    if outcome.queued and outcome.already_queued:
        messages.info(request, f"{_plural(outcome.already_queued, 'record')} were queued already and were left as they are.")
    if outcome.not_queued:
        messages.warning(request, f"{_plural(outcome.not_queued, 'record')} of a disconnected connection were not queued; "
                                  "reconnecting it sends what changed.")


def _skip_messages(request: HttpRequest, outcome: log_actions.SkipOutcome) -> None:
    if outcome.skipped:
        messages.success(request, f"Skipped {_plural(len(outcome.skipped), 'opportunity').replace('opportunitys', 'opportunities')}: "
                                  "no longer synced until someone unskips them.")
    elif not outcome.unchanged:
        messages.info(request, "Nothing to skip: no opportunity matching these filters is still failing.")
    if outcome.not_skippable:
        messages.warning(request, f"{_plural(outcome.not_skippable, 'record')} of other types were not skipped: only "
                                  "opportunities can be skipped (their analyses, requirements, comments and proposals follow them).")
    for record_id, reason in list(outcome.refused.items())[:5]:
        messages.error(request, f"#{record_id}: {reason}")


@tenant_page("admin")
@require_POST
def log_row_skip(request: HttpRequest, pk: int) -> HttpResponse:
    """Skip the record of one log row in that row's connection (its Skip button)."""
    log = get_object_or_404(SyncLog.objects.filter(tenant=request.tenant).select_related("connection"), pk=pk)
    back = request.POST.get("next", "")
    if not back.startswith(reverse("sync:logs")):
        back = reverse("sync:logs")
    try:
        done = log_actions.log_record_skip(tenant=request.tenant, log=log, actor=request.user)
    except log_actions.LogActionError as exc:
        messages.error(request, exc.message)
    else:
        name = log.record_label or f"opportunity #{log.record_id}"
        messages.success(request, f"Skipped “{name}” in {log.connection.name}: no longer synced until someone unskips it."
                         if done else f"“{name}” was already skipped in {log.connection.name}.")
    return redirect(back)


@tenant_page("viewer")
@require_GET
def record_history(request: HttpRequest, record_type: str, record_id: int) -> HttpResponse:
    """A record's latest log rows (the Salesforce panel reloads this after a manual sync)."""
    if not selectors.record_known_to_tenant(tenant=request.tenant, record_type=record_type, record_id=record_id):
        raise Http404("No such record in this organization.")
    history = selectors.record_sync_history(tenant=request.tenant, record_type=record_type, record_id=record_id)
    return render(request, "sync_engine/_record_history.html",
                  {"history": history, "record_type": record_type, "record_id": record_id})


# --- a record's manual sync ------------------------------------------------------------------

@tenant_page("viewer")
@require_GET
def record_run_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The Sync button's status area: polled every second until the record has a result."""
    run = selectors.sync_run_get(tenant=request.tenant, pk=pk, kinds=(SyncRunKind.MANUAL_RECORD,))
    state = selectors.record_run_state(tenant=request.tenant, run=run)
    response = render(request, "sync_engine/_record_run_status.html", {"run": run, "state": state})
    if state.done:
        # The panel's history list listens for this and reloads itself.
        response["HX-Trigger"] = "sync-record-finished"
    return response


# --- Sync Now --------------------------------------------------------------------------------

def _progress_context(request: HttpRequest, run) -> dict:
    return {"run": run, "elapsed": selectors.sync_run_elapsed(run),
            "active": run.status in selectors.ACTIVE_RUN_STATUSES,
            "is_admin": request.membership.has_role("admin")}


@tenant_page("admin")
def sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = request.tenant
    connection = selectors.sync_connection_get(tenant=tenant, pk=pk)
    form = SyncNowForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if form.is_valid():
            try:
                run = services.sync_now_start(connection=connection, kind=form.cleaned_data["kind"], actor=request.user)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                label = "Full" if run.kind == SyncRunKind.FULL else "Incremental"
                if run.total == 0:
                    messages.success(request, f"{label} sync: nothing to send — Salesforce is up to date.")
                else:
                    messages.success(request, f"{label} sync started: {run.total} record{'s' if run.total != 1 else ''} queued.")
                return redirect("sync:sync_now", pk=connection.pk)
        else:
            error = " ".join(e for errs in form.errors.values() for e in errs)
    elif request.method != "GET":
        return HttpResponse(status=405)
    active = selectors.sync_run_active(tenant=tenant, connection=connection)
    context = {
        "connection": connection,
        "form": form,
        "error": error,
        "active_run": active,
        "progress": _progress_context(request, active) if active else None,
        "runs": selectors.sync_run_list(tenant=tenant, connection=connection, limit=10, finished_only=True),
        "reconciliation": selectors.reconciliation_latest(tenant=tenant, connection=connection),
        "tab": "sync_now",
    }
    return render(request, "sync_engine/sync_now.html", context, status=400 if error else 200)


@tenant_page("admin")
@require_POST
def reconcile_now(request: HttpRequest, pk: int) -> HttpResponse:
    """"Reconcile now" on the Sync Now page: queue one reconciliation of the connection."""
    connection = selectors.sync_connection_get(tenant=request.tenant, pk=pk)
    try:
        reconcile_service.reconciliation_request(connection=connection, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Reconciliation queued: it runs in the background; its result shows under Recent runs.")
    return redirect("sync:sync_now", pk=connection.pk)


@tenant_page("admin")
@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.sync_run_get(tenant=request.tenant, pk=pk, kinds=selectors.BACKGROUND_RUN_KINDS)
    response = render(request, "sync_engine/_run_progress.html", _progress_context(request, run))
    if run.status not in selectors.ACTIVE_RUN_STATUSES:
        response["HX-Trigger"] = "sync-run-finished"
    return response


@tenant_page("admin")
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.sync_run_get(tenant=request.tenant, pk=pk, kinds=(SyncRunKind.FULL, SyncRunKind.INCREMENTAL))
    if run.status in selectors.ACTIVE_RUN_STATUSES and not run.cancel_requested:
        services.sync_run_cancel(run=run)
        run.refresh_from_db()
        text = ("Sync cancelled." if run.status == SyncRunStatus.CANCELLED
                else "Cancelling: the batch in progress finishes, then the sync stops.")
    else:
        text = "This sync has already finished." if run.status not in selectors.ACTIVE_RUN_STATUSES else "Cancel already requested."
    if is_htmx(request):
        response = render(request, "sync_engine/_run_progress.html", {**_progress_context(request, run), "notice": text})
        if run.status not in selectors.ACTIVE_RUN_STATUSES:
            response["HX-Trigger"] = "sync-run-finished"
        return response
    messages.info(request, text)
    return redirect("sync:sync_now", pk=run.connection_id)


@tenant_page("admin")
@require_GET
def run_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The recent-runs table (reloaded when a run finishes)."""
    connection = selectors.sync_connection_get(tenant=request.tenant, pk=pk)
    return render(request, "sync_engine/_run_list.html",
                  {"connection": connection,
                   "runs": selectors.sync_run_list(tenant=request.tenant, connection=connection, finished_only=True)})


# --- API usage -------------------------------------------------------------------------------

CHART = {"width": 760, "height": 240, "left": 44, "right": 8, "top": 12, "bottom": 30}
KIND_LABELS = {"realtime": "Real-time", "manual": "Manual", "incremental": "Incremental",
               "reconciliation": "Reconciliation", "full": "Full sync", "limits_probe": "Capacity checks"}


def _nice_ticks(peak: int) -> list[int]:
    """Whole-number axis ticks from 0 up to at least `peak`: a step of 1, 2 or 5 × 10ⁿ and at
    most five intervals, so every tick is an integer drawn at its own value (quarters of the
    old rounded top gave 2.5 and 7.5, labelled "2" and "8")."""
    if peak <= 0:
        return [0, 1, 2, 3, 4, 5]
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if -(-peak // step) <= 5:  # ceil(peak / step) intervals
                return [step * k for k in range(-(-peak // step) + 1)]
        magnitude *= 10


def _chart(usage: selectors.UsageChart, zone) -> dict:
    """A stacked bar chart as SVG geometry (no chart library, no CDN)."""
    c = CHART
    plot_w = c["width"] - c["left"] - c["right"]
    plot_h = c["height"] - c["top"] - c["bottom"]
    n = len(usage.hours)
    slot = plot_w / n if n else plot_w
    bar_w = max(2.0, slot * 0.72)
    ticks = _nice_ticks(usage.peak)
    top = ticks[-1]
    scale = plot_h / top if top else 0
    bars, labels = [], []
    label_every = 3 if n <= 24 else 6
    for i, hour in enumerate(usage.hours):
        x = c["left"] + i * slot + (slot - bar_w) / 2
        y = c["top"] + plot_h
        local = timezone.localtime(hour, zone)
        parts = []
        for kind, values in usage.series.items():
            calls = values[i]
            if not calls:
                continue
            h = calls * scale
            y -= h
            parts.append({"kind": kind, "x": round(x, 1), "y": round(y, 1), "w": round(bar_w, 1), "h": round(max(h, 0.5), 1),
                          "calls": calls})
        total = sum(values[i] for values in usage.series.values())
        bars.append({"parts": parts, "title": f"{local:%b %-d, %H:00} – {total} call{'s' if total != 1 else ''}",
                     "x": round(c["left"] + i * slot, 1), "w": round(slot, 1)})
        if i % label_every == 0 or i == n - 1 and n <= 24:
            labels.append({"x": round(c["left"] + i * slot + slot / 2, 1), "text": f"{local:%H:00}",
                           "day": f"{local:%b %-d}" if local.hour < label_every or i == 0 else ""})
    grid = [{"y": round(c["top"] + plot_h - value * scale, 1), "value": value, "label": f"{value:,}"} for value in ticks]
    return {**c, "plot_w": plot_w, "plot_h": plot_h, "bars": bars, "labels": labels, "grid": grid,
            "axis_y": c["top"] + plot_h, "right_x": c["left"] + plot_w}


@tenant_page("viewer")
@require_GET
def api_usage(request: HttpRequest, pk: int) -> HttpResponse:
    tenant = request.tenant
    connection = selectors.sync_connection_get(tenant=tenant, pk=pk)
    try:
        hours = int(request.GET.get("hours", 24))
    except ValueError:
        hours = 24
    if hours not in USAGE_HOURS:
        hours = 24
    zone = tenant_zone(request)
    status = get_governor().status(connection.pk)
    used = status.used if status.used is not None else connection.api_usage_used
    allowance = status.allowance if status.allowance is not None else connection.api_usage_max
    percent = percent_used(used, allowance)
    pause = selectors.connection_pause(connection_id=connection.pk)
    paused_until = pause.expected_at if pause is not None else None
    usage = selectors.api_usage_by_hour(tenant=tenant, connection=connection, hours=hours)
    kinds = [{"kind": k, "label": KIND_LABELS.get(k, k.title()), "total": usage.totals.get(k, 0)} for k in usage.series]
    context = {
        "connection": connection,
        "used": used,
        "allowance": allowance,
        "percent": percent,
        "remaining": allowance - used if used is not None and allowance is not None else None,
        "tone": "red" if percent is not None and percent >= 90 else "amber" if percent is not None and percent >= 75 else "green",
        "paused_until": paused_until,
        "next_check_at": pause.next_check_at if pause is not None else None,
        "probes": usage.totals.get("limits_probe", 0),
        "paused_same_day": paused_until is not None and timezone.localtime(paused_until, zone).date() == timezone.localdate(timezone=zone),
        "in_flight": status.in_flight,
        "usage": usage,
        "kinds": kinds,
        "chart": _chart(usage, zone),
        "hours": hours,
        "hour_choices": USAGE_HOURS,
        "tab": "usage",
        "table_rows": [
            {"hour": h, "values": [usage.series[k][i] for k in usage.series], "total": sum(usage.series[k][i] for k in usage.series)}
            for i, h in enumerate(usage.hours)
        ][::-1],
    }
    return render(request, "sync_engine/usage.html", context)


# --- records whose Salesforce partner was deleted: bulk Skip / Re-create / Unskip ---------------

@tenant_page("admin")
def partner_gone(request: HttpRequest, pk: int) -> HttpResponse:
    """The connection's records deleted in Salesforce (and skipped ones), with bulk actions.
    Re-link is per record (a search each): the record's panel has it."""
    tenant = request.tenant
    connection = selectors.sync_connection_get(tenant=tenant, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            ids = [int(i) for i in request.POST.getlist("opportunity") if i.strip()][:selectors.PARTNER_GONE_LIMIT]
        except ValueError:
            ids = []
        if not ids:
            messages.error(request, "Select at least one record.")
        else:
            try:
                outcome = partner_actions.opportunities_bulk_action(connection=connection, action=action, opportunity_ids=ids,
                                                                    actor=request.user)
            except partner_actions.PartnerActionError as exc:
                messages.error(request, exc.messages[0])
            else:
                verb = {"skip": "Skipped", "unskip": "Unskipped", "recreate": "Re-creating"}[action]
                if outcome.done:
                    messages.success(request, f"{verb} {len(outcome.done)} record{'s' if len(outcome.done) != 1 else ''}.")
                for record_id, reason in outcome.refused.items():
                    messages.error(request, f"#{record_id}: {reason}")
        return redirect("sync:partner_gone", pk=connection.pk)
    if request.method != "GET":
        return HttpResponse(status=405)
    deleted, skipped = selectors.partner_gone_records(tenant=tenant, connection=connection)
    return render(request, "sync_engine/partner_gone.html",
                  {"connection": connection, "deleted": deleted, "skipped": skipped, "tab": "partner_gone"})
