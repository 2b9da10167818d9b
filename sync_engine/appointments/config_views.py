"""Workflow › CRM and Appointments, per connection (admins only).

One form, several buttons: Save, Check syntax, Test query, Setup for improveit 360 and Add row
each post the whole form to their own URL, which answers with the page re-drawn from what was
posted plus its result — nothing is saved except by Save. Business rules live in
config_services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from cothon.models import Membership
from cothon.tenancy.pages import tenant_page
from integrations import connections as connection_services
from integrations.forms import AUTH_METHOD_HELP
from integrations.models import AuthMethod, CredentialMode, SalesforceConnection
from integrations.salesforce.errors import HINTS, SalesforceError
from integrations.selectors import salesforce_connection_get, salesforce_default_connection
from sync_engine.appointments import config_services as svc
from sync_engine.appointments.config_forms import SIGN_ON_HELP, AppointmentSettingsForm, SignOnForm, posted_mappings
from sync_engine.appointments.config_selectors import appointment_member_states, appointment_settings_get
from sync_engine.appointments.soql_check import check_soql

TEMPLATE = "sync_appointments/config.html"


def _connection(request: HttpRequest, pk: int) -> SalesforceConnection:
    return salesforce_connection_get(tenant=request.tenant, pk=pk)


def _mapping_rows(mappings: list[dict], row_errors: list[dict[str, str]] | None = None, blank_rows: int = 1) -> list[dict]:
    rows = [{**row, "errors": (row_errors[i] if row_errors and i < len(row_errors) else {})} for i, row in enumerate(mappings)]
    rows += [{"title": "", "sf_field": "", "sf_type": "", "target": "", "show_in_notes": False, "errors": {}, "blank": True}
             for _ in range(blank_rows)]
    return rows


def _render(request: HttpRequest, connection: SalesforceConnection, *, form: AppointmentSettingsForm, mappings: list[dict],
            status: int = 200, **extra: Any) -> HttpResponse:
    soql = form.data.get("soql", "") if form.is_bound else form.initial.get("soql", "")
    parsed_ok = check_soql(soql).ok if soql.strip() else False
    context: dict[str, Any] = {
        "connection": connection, "form": form, "soql": soql,
        "line_count": range(1, max(soql.count("\n") + 2, 10) + 1),
        "mapping_rows": _mapping_rows(mappings, extra.pop("row_errors", None), extra.pop("blank_rows", 1)),
        "targets": svc.TARGETS, "sf_types": svc.SF_TYPES, "essentials": [svc.TARGETS[t] for t in svc.ESSENTIAL_TARGETS],
        "sign_on_form": SignOnForm(initial={"credential_mode": connection.credential_mode}), "sign_on_help": SIGN_ON_HELP,
        "per_user": connection.credential_mode == CredentialMode.PER_USER,
        "password_help": AUTH_METHOD_HELP[AuthMethod.PASSWORD],
        # Single sign-on always filters by :user_identifier (checked on save), whatever is typed now.
        "members": appointment_member_states(connection=connection, uses_identifier=(
            connection.credential_mode == CredentialMode.INTEGRATION_USER or (parsed_ok and svc.uses_user_identifier(soql)))),
        "test_member_id": _int(request.POST.get("test_member")) if request.method == "POST" else None,
        "settings_saved": appointment_settings_get(connection=connection),
        "title": "CRM and Appointments",
    }
    result = extra.get("result")
    if result is not None:
        context["soql_problems"] = [{"problem": p, "text": p.caret_lines(soql)[0], "caret": p.caret_lines(soql)[1]}
                                    for p in result.check.problems]
    context.update(extra)
    return render(request, TEMPLATE, context, status=status)


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _posted(request: HttpRequest) -> tuple[AppointmentSettingsForm, list[dict]]:
    data = request.POST.copy()
    data["soql"] = data.get("soql", "").replace("\r\n", "\n")
    return AppointmentSettingsForm(data), posted_mappings(request.POST)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def config_page(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    if request.method == "GET":
        settings = appointment_settings_get(connection=connection)
        form = AppointmentSettingsForm(initial={"enabled": settings.enabled if settings else False, "soql": settings.soql if settings else ""})
        return _render(request, connection, form=form, mappings=list(settings.field_mappings) if settings else [])
    form, mappings = _posted(request)
    if not form.is_valid():
        return _render(request, connection, form=form, mappings=mappings, status=400, save_failed=True)
    try:
        svc.appointment_settings_save(connection=connection, enabled=form.cleaned_data["enabled"], soql=form.cleaned_data["soql"],
                                      field_mappings=mappings, actor=request.user)
    except svc.AppointmentSettingsInvalid as invalid:
        return _render(request, connection, form=form, mappings=mappings, status=400, save_failed=True,
                       result=invalid.result, row_errors=invalid.result.row_errors)
    messages.success(request, "CRM and Appointments saved." if form.cleaned_data["enabled"]
                     else "Saved. Appointments are not pulled while the switch is off.")
    return redirect("appointments_config:page", pk=connection.pk)


@tenant_page("admin")
@require_POST
def config_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Check syntax (and the fields against the org, and the mappings); nothing is saved."""
    connection = _connection(request, pk)
    form, mappings = _posted(request)
    form.is_valid()
    result = svc.appointment_settings_check(connection=connection, soql=form.data.get("soql", ""), field_mappings=mappings)
    return _render(request, connection, form=form, mappings=mappings, result=result, row_errors=result.row_errors, checked=True)


@tenant_page("admin")
@require_POST
def config_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Test query: LIMIT 10, as the chosen member; nothing is saved."""
    connection = _connection(request, pk)
    form, mappings = _posted(request)
    membership = Membership.objects.filter(tenant=request.tenant, user_id=_int(request.POST.get("test_member"))).select_related("user").first()
    context: dict[str, Any] = {"tested": True}
    if membership is None:
        context["test_error"] = "Choose the member to run the query as."
    else:
        context["test_member_name"] = membership.user.get_full_name() or membership.user.get_username()
        try:
            context["preview"] = svc.appointment_query_test(connection=connection, member=membership.user, soql=form.data.get("soql", ""))
        except svc.AppointmentSetupError as exc:
            context["test_error"] = exc.message
        except SalesforceError as exc:
            context["test_error"] = f"Salesforce answered {exc.code}: {exc.message}"
            context["test_hint"] = HINTS.get(exc.code, "")
    return _render(request, connection, form=form, mappings=mappings, **context)


@tenant_page("admin")
@require_POST
def config_improveit(request: HttpRequest, pk: int) -> HttpResponse:
    """Setup for improveit 360: the default query and mappings in the form, not saved yet."""
    connection = _connection(request, pk)
    soql, mappings = svc.improveit_defaults()
    form = AppointmentSettingsForm({"enabled": "on", "soql": soql})
    return _render(request, connection, form=form, mappings=mappings, filled_improveit=True)


@tenant_page("admin")
@require_POST
def config_add_row(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form, mappings = _posted(request)
    return _render(request, connection, form=form, mappings=mappings, blank_rows=2)


@tenant_page("admin")
@require_POST
def config_sign_on(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = SignOnForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose single sign-on or multi-user sign-on.")
    elif form.cleaned_data["credential_mode"] != connection.credential_mode:
        try:
            connection_services.connection_update(tenant=request.tenant, connection=connection,
                                                  data={"credential_mode": form.cleaned_data["credential_mode"]}, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Sign-on changed to " + ("multi-user sign-on: enter each member's Salesforce login on the connection page (Users)."
                                                               if connection.credential_mode == CredentialMode.PER_USER
                                                               else "single sign-on: each member's unique identifier filters their appointments."))
    return redirect("appointments_config:page", pk=connection.pk)


@tenant_page("admin")
def workflow_entry(request: HttpRequest) -> HttpResponse:
    """The nav's Workflow › CRM and Appointments: the default connection's page."""
    connection = salesforce_default_connection(tenant=request.tenant)
    if connection is None:
        messages.info(request, "Connect a Salesforce org first: appointments are pulled from it.")
        return redirect("integrations:index")
    return redirect("appointments_config:page", pk=connection.pk)
