"""The per-connection sync settings editor and its version history."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cothon.tenancy.pages import tenant_page
from integrations import selectors
from integrations.forms import (
    SettingsForm,
    parse_settings_json,
)
from integrations.mapping.suggest import picklist_values, suggest_stage_mapping
from integrations.models import ConnectionSettingsVersion, ConnectionStatus, SalesforceConnection
from integrations.salesforce.errors import SalesforceError
from integrations.settings_schema import SyncSettings
from integrations.sync_settings import (
    SettingsInvalid,
    describe_get,
    settings_compare,
    settings_current,
    settings_restore,
    settings_save,
    settings_validate,
)
from integrations.views.common import (
    _connection,
    _hint,
    _is_admin,
)


def _org_describe(request: HttpRequest, connection: SalesforceConnection, settings: SyncSettings) -> tuple[dict | None, str]:
    """The org's describe of the configured opportunity object when connected (cached for an hour), or why not."""
    if connection.status != ConnectionStatus.CONNECTED:
        return None, ""
    try:
        return describe_get(connection=connection, sobject=settings.objects.opportunity), ""
    except SalesforceError as exc:
        return None, f"Could not read the org's fields ({exc.code}: {exc.message}); fields are shown as text."


def _settings_page(request: HttpRequest, connection: SalesforceConnection, form: SettingsForm, *, status: int = 200,
                   describe_problem: str = "", json_error: str = "", json_text: str | None = None,
                   json_issues: list | None = None, notice: str = "") -> HttpResponse:
    current_version = selectors.settings_versions(tenant=request.tenant, connection=connection).first()
    return render(request, "integrations/settings.html", {
        "connection": connection, "form": form, "is_admin": _is_admin(request), "describe_problem": describe_problem,
        "json_error": json_error, "json_text": json_text if json_text is not None else form.json_text,
        "json_issues": json_issues or [], "notice": notice, "current_version": current_version,
        "tenant_zone": request.tenant.time_zone,
    }, status=status)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def settings_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    current = settings_current(connection=connection)
    settings = SyncSettings.from_dict(current)
    describe, describe_problem = _org_describe(request, connection, settings)
    if request.method == "GET":
        suggested: dict[str, str] = {}
        stages = picklist_values(describe, "StageName") if describe else []
        if stages and any(stage not in stages for stage in settings.stage_mapping.values()):
            suggested = suggest_stage_mapping(stages)
        form = SettingsForm(base=current, opportunity_describe=describe, suggested_stages=suggested)
        if describe:
            report = settings_validate(connection=connection, data=form.data)
            form.add_issues([] if suggested else report.errors, report.warnings)
        return _settings_page(request, connection, form, describe_problem=describe_problem,
                              notice="suggested" if suggested else "")
    if not _is_admin(request):
        return _forbidden(request)
    if request.POST.get("mode") == "json":
        return _settings_save_json(request, connection, current, describe)
    form = SettingsForm(base=current, post=request.POST, opportunity_describe=describe)
    if request.POST.get("action") == "type_from_method":
        form.apply_type_from_method()
        return _settings_page(request, connection, form, describe_problem=describe_problem, notice="type_from_method")
    try:
        version = settings_save(connection=connection, data=form.data, actor=request.user)
    except SettingsInvalid as exc:
        form.add_issues(exc.report.errors, exc.report.warnings)
        return _settings_page(request, connection, form, status=400, describe_problem=describe_problem)
    except SalesforceError as exc:
        return _settings_page(request, connection, form, status=400,
                              describe_problem=f"Nothing was saved: the org could not be read to check the mappings ({exc.code}: {exc.message}). {_hint(exc.code)}")
    messages.success(request, f"Settings saved as version {version.version}.")
    return redirect("integrations:settings", pk=connection.pk)


def _settings_save_json(request: HttpRequest, connection: SalesforceConnection, current: dict, describe: dict | None) -> HttpResponse:
    text = request.POST.get("settings_json", "")
    data, problem = parse_settings_json(text)
    form = SettingsForm(base=current, opportunity_describe=describe)
    if data is None:
        return _settings_page(request, connection, form, status=400, json_error=problem, json_text=text)
    try:
        version = settings_save(connection=connection, data=data, actor=request.user)
    except SettingsInvalid as exc:
        return _settings_page(request, connection, form, status=400, json_text=text, json_issues=exc.report.errors,
                              json_error="Nothing was saved: fix the problems listed below.")
    except SalesforceError as exc:
        return _settings_page(request, connection, form, status=400, json_text=text,
                              json_error=f"Nothing was saved: the org could not be read ({exc.code}: {exc.message}).")
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return _settings_page(request, connection, form, status=400, json_text=text,
                              json_error=f"The JSON does not have the settings' shape ({type(exc).__name__}: {exc}).")
    messages.success(request, f"Settings saved as version {version.version}.")
    return redirect("integrations:settings", pk=connection.pk)


def _forbidden(request: HttpRequest) -> HttpResponse:
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied("Only admins change the sync settings.")


@tenant_page("admin")
def settings_history(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    versions = selectors.settings_versions(tenant=request.tenant, connection=connection)
    return render(request, "integrations/history.html", {"connection": connection, "versions": versions})


def _version(request: HttpRequest, connection: SalesforceConnection, number) -> ConnectionSettingsVersion:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise Http404("No such version.") from None
    return get_object_or_404(selectors.settings_versions(tenant=request.tenant, connection=connection), version=number)


@tenant_page("admin")
@require_GET
def settings_compare_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Two versions (?a=3&b=5; b defaults to the one in force) field by field, in the editor's words."""
    connection = _connection(request, pk)
    versions = selectors.settings_versions(tenant=request.tenant, connection=connection)
    current = versions.first()
    if current is None:
        raise Http404("No versions yet.")
    old = _version(request, connection, request.GET.get("a") or current.version)
    new = _version(request, connection, request.GET.get("b") or current.version)
    if old.version > new.version:
        old, new = new, old
    return render(request, "integrations/compare.html", {
        "connection": connection, "old": old, "new": new, "current": current, "versions": versions,
        "differences": settings_compare(old=old, new=new)})


@tenant_page("admin")
@require_POST
def settings_restore_view(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    """Restore: a new version equal to an old one, if today's checks accept it."""
    connection = _connection(request, pk)
    old = _version(request, connection, version)
    in_force = selectors.settings_versions(tenant=request.tenant, connection=connection).values_list("version", flat=True).first()
    try:
        saved = settings_restore(connection=connection, version=old, actor=request.user)
    except SettingsInvalid as exc:
        reasons = "; ".join(f"{issue.message}" for issue in exc.report.errors)
        messages.error(request, f"Version {old.version} was not restored: today's checks refuse it — {reasons}")
        return redirect("integrations:settings_history", pk=connection.pk)
    except SalesforceError as exc:
        messages.error(request, f"Version {old.version} was not restored: the org could not be read to check it "
                                f"({exc.code}: {exc.message}).")
        return redirect("integrations:settings_history", pk=connection.pk)
    if saved.version == in_force:
        messages.info(request, f"Version {old.version} is the same as the settings in force: nothing to restore.")
    else:
        messages.success(request, f"Version {old.version} restored as version {saved.version}.")
    return redirect("integrations:settings_history", pk=connection.pk)


# --- dry run ----------------------------------------------------------------------------------------
