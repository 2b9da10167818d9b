"""Appointments: a list, a calendar-like day and week view (CSS grid), each appointment's page
with its mapped notes and a link to its Salesforce record, and "Refresh appointments" (a pull
whose progress the page polls). A member sees their own appointments; an admin everyone's, with
a rep filter. Every lookup goes through the selectors: another tenant's appointment, or another
member's for a non-admin, is a 404."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cothon.tenancy.pages import is_htmx, tenant_page, tenant_zone
from opportunities.models import Appointment
from sync_engine.appointments import results_selectors, selectors
from sync_engine.appointments.models import AppointmentPull
from sync_engine.appointments.runs import appointment_pull_start, pull_stalled

VIEWS = (("day", "Day"), ("week", "Week"), ("list", "List"))
FIRST_HOUR, LAST_HOUR = 7, 22  # the calendar's rows; earlier or later appointments sit on its edge
SLOT_MINUTES = 15
LIST_LIMIT = 300


@dataclass
class Placed:
    """An appointment's place in the calendar grid (column, first row, rows spanned)."""

    appointment: Appointment
    column: int
    row: int
    span: int


# The calendar moves a week either side of the day shown: keep clear of date's own limits.
EARLIEST, LATEST = datetime.date(1900, 1, 1), datetime.date(2999, 12, 31)


def _day(request: HttpRequest) -> datetime.date:
    raw = request.GET.get("date", "")
    try:
        day = datetime.date.fromisoformat(raw) if raw else timezone.localdate()
    except ValueError:
        day = None
    if day is None or not EARLIEST <= day <= LATEST:
        messages.error(request, f"“{raw[:40]}” is not a date from 1900 to 2999 (use YYYY-MM-DD); showing today.")
        return timezone.localdate()
    return day


def _rep(request: HttpRequest, reps: list) -> int | None:
    raw = request.GET.get("rep", "")
    if not raw or not request.membership.has_role("admin"):
        return None
    try:
        rep_id = int(raw)
    except ValueError:
        rep_id = -1
    if rep_id not in {rep.pk for rep in reps}:
        messages.error(request, "That rep has no appointments here; showing everyone's.")
        return None
    return rep_id


def _midnight(day: datetime.date, zone: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=zone)


def _place(appointment: Appointment, column: int, zone: datetime.tzinfo) -> Placed:
    local = timezone.localtime(appointment.starts_at, zone)
    minutes = (local.hour - FIRST_HOUR) * 60 + local.minute
    last = (LAST_HOUR - FIRST_HOUR) * 60
    start = min(max(minutes, 0), last - SLOT_MINUTES)
    end = min(max(minutes + (appointment.duration_minutes or 60), start + SLOT_MINUTES), last)
    return Placed(appointment, column, 2 + start // SLOT_MINUTES, max(1, (end - start + SLOT_MINUTES - 1) // SLOT_MINUTES))


def _hours() -> list[dict]:
    return [{"label": datetime.time(hour).strftime("%-I %p"), "row": 2 + (hour - FIRST_HOUR) * 60 // SLOT_MINUTES}
            for hour in range(FIRST_HOUR, LAST_HOUR)]


@tenant_page("viewer")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    tenant, membership = request.tenant, request.membership
    zone = tenant_zone(request)
    view = request.GET.get("view", "day")
    if view not in dict(VIEWS):
        view = "day"
    day = _day(request)
    is_admin = membership.has_role("admin")
    reps = selectors.appointment_reps(tenant=tenant) if is_admin else []
    rep_id = _rep(request, reps)
    context: dict = {"view": view, "views": VIEWS, "day": day, "today": timezone.localdate(), "is_admin": is_admin,
                     "reps": reps, "rep_id": rep_id, "hours": _hours(),
                     "rows": (LAST_HOUR - FIRST_HOUR) * 60 // SLOT_MINUTES}
    if view == "week":
        start = day - datetime.timedelta(days=day.weekday())
        days = [start + datetime.timedelta(days=n) for n in range(7)]
        found = selectors.appointment_list(tenant=tenant, membership=membership, rep_id=rep_id,
                                           starts_from=_midnight(start, zone), starts_before=_midnight(start + datetime.timedelta(days=7), zone))
        context.update(columns=[{"label": d.strftime("%a %-d"), "date": d, "is_today": d == context["today"]} for d in days],
                       placed=[_place(a, 2 + (timezone.localtime(a.starts_at, zone).date() - start).days, zone) for a in found],
                       previous=start - datetime.timedelta(days=7), next=start + datetime.timedelta(days=7),
                       heading=f"Week of {start.strftime('%B %-d, %Y')}", count=len(found))
    elif view == "day":
        found = list(selectors.appointment_list(tenant=tenant, membership=membership, rep_id=rep_id,
                                                starts_from=_midnight(day, zone),
                                                starts_before=_midnight(day + datetime.timedelta(days=1), zone)))
        # An admin's day: one column per rep who has appointments that day; a member's: their own.
        people = sorted({a.assigned_to for a in found if a.assigned_to}, key=lambda u: (u.get_full_name() or u.get_username()).lower())
        if not is_admin or rep_id is not None or not people:
            people = [None]
        index_of = {person.pk: n for n, person in enumerate(people) if person is not None}
        context.update(columns=[{"label": (p.get_full_name() or p.get_username()) if p else day.strftime("%A"), "date": day,
                                 "is_today": day == context["today"]} for p in people],
                       placed=[_place(a, 2 + index_of.get(a.assigned_to_id, 0), zone) for a in found],
                       previous=day - datetime.timedelta(days=1), next=day + datetime.timedelta(days=1),
                       heading=day.strftime("%A, %B %-d, %Y"), count=len(found))
    else:
        found = list(selectors.appointment_list(tenant=tenant, membership=membership, rep_id=rep_id,
                                                starts_from=_midnight(day, zone))[:LIST_LIMIT + 1])
        context.update(appointments=found[:LIST_LIMIT], more=len(found) > LIST_LIMIT, count=len(found[:LIST_LIMIT]),
                       heading=f"From {day.strftime('%B %-d, %Y')}", previous=day - datetime.timedelta(days=7),
                       next=day + datetime.timedelta(days=7))
    context["pulls"] = _pull_panels(request)
    return render(request, "sync_appointments/index.html", context)


def _pull_panels(request: HttpRequest) -> list[dict]:
    panels = []
    for connection in selectors.appointment_connections(tenant=request.tenant):
        pull = selectors.appointment_pull_latest(tenant=request.tenant, connection=connection)
        panels.append({"connection": connection, "pull": pull, "stalled": bool(pull and pull_stalled(pull))})
    return panels


@tenant_page("viewer")
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        appointment = selectors.appointment_get(tenant=request.tenant, membership=request.membership, pk=pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment.") from None
    link = selectors.appointment_salesforce_link(tenant=request.tenant, appointment=appointment)
    ends_at = (appointment.starts_at + datetime.timedelta(minutes=appointment.duration_minutes)
               if appointment.starts_at and appointment.duration_minutes else None)
    fields = sorted((dict(value, sf_field=name) for name, value in (appointment.source_fields or {}).items()),
                    key=lambda field: field.get("order", 0))
    return render(request, "sync_appointments/detail.html", {
        "appointment": appointment, "link": link, "ends_at": ends_at, "source_fields": fields,
        "notes_fields": [f for f in fields if f.get("in_notes") and f.get("value")],
        "result": results_selectors.result_panel(tenant=request.tenant, membership=request.membership, appointment=appointment)})


@tenant_page("viewer")
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Refresh appointments: one pull per connection with appointments on (every member's)."""
    connections = selectors.appointment_connections(tenant=request.tenant)
    raw = request.POST.get("connection", "")
    if raw:
        # Only this tenant's connections with appointments on: anything else does not exist here.
        connections = [c for c in connections if str(c.pk) == raw.strip()]
        if not connections:
            raise Http404("No such connection.")
    if not connections:
        messages.error(request, "Appointments are not switched on for any Salesforce connection yet: an admin sets them "
                                "up in Workflow › CRM and Appointments.")
        return redirect("sync_appointments:index")
    for connection in connections:
        try:
            appointment_pull_start(connection=connection, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    if is_htmx(request):
        return render(request, "sync_appointments/_pulls.html", {"pulls": _pull_panels(request)})
    return redirect(request.POST.get("next") if str(request.POST.get("next", "")).startswith("/appointments/")
                    else "sync_appointments:index")


@tenant_page("viewer")
@require_GET
def pull_progress(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        pull = selectors.appointment_pull_get(tenant=request.tenant, pk=pk)
    except AppointmentPull.DoesNotExist:
        raise Http404("No such pull.") from None
    response = render(request, "sync_appointments/_pull.html",
                      {"panel": {"connection": pull.connection, "pull": pull, "stalled": pull_stalled(pull)}})
    if not pull.active and is_htmx(request) and request.GET.get("was") == "active":
        response["HX-Refresh"] = "true"  # finished: show the appointments it brought
    return response
