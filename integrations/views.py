"""Settings › Integrations › Salesforce: connections, their health, users, sync settings,
dry run and custom fields. Reads go through integrations/selectors.py, every change through
the services (connections, sync_settings, user_links, custom_fields, dry_run); every lookup is
scoped to request.tenant, so another tenant's connection id is a 404."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from oauthlib.oauth2 import OAuth2Error

from integrations import connections as svc
from integrations import selectors
from integrations.custom_fields import CUSTOM_OBJECTS, STANDARD_OBJECT_FIELDS, install_custom_fields, install_plan
from integrations.dry_run import dry_run
from integrations.forms import (
    AUTH_METHOD_HELP,
    ConnectForm,
    ConnectionUpdateForm,
    PasswordLoginForm,
    SettingsForm,
    parse_settings_json,
)
from integrations.mapping.suggest import picklist_values, suggest_stage_mapping
from integrations.models import AuthMethod, ConnectionStatus, CredentialMode, SalesforceConnection
from integrations.salesforce.errors import HINTS, SalesforceAuthError, SalesforceError
from integrations.salesforce.oauth import authorization_url
from integrations.sync_settings import SettingsInvalid, describe_get, settings_current, settings_save, settings_validate
from integrations.user_links import user_link_set, user_links_prefill
from opportunities import selectors as opportunity_selectors
from opportunities.views import tenant_page

OAUTH_SESSION_KEY = "salesforce_oauth_pending"
EVENTS_SHOWN = 30

# What the authorize step's errors mean, for the person who just saw them.
AUTHORIZE_HINTS = {
    "access_denied": "Access was denied on the Salesforce page (Deny was clicked, or the user may not use this connected app). Click Reconnect and choose Allow, or ask your Salesforce admin to approve the app for this user (Setup › Connected Apps › Manage › Profiles).",
    "redirect_uri_mismatch": "The connected app's callback URL does not match Cothon's. Add the callback URL shown on the Connect page to the connected app (Setup › App Manager › Edit › Callback URL).",
    "invalid_client_id": "The consumer key (client id) is not known to this org. Check it in Setup › App Manager, and wait ~10 minutes after creating a connected app.",
    "invalid_request": "Salesforce rejected the sign-in request. Check the login URL and the connected app's OAuth settings (PKCE, scopes api refresh_token offline_access).",
    "OAUTH_APP_BLOCKED": "The connected app is blocked in this org. Unblock it in Setup › Connected Apps OAuth Usage.",
    "state_mismatch": "The sign-in answer did not belong to a sign-in this browser started. Start again from the connection page.",
}


EVENT_LABELS = {"created": "Created", "connected": "Connected", "refreshed": "Refreshed", "needs_reconnect": "Needs reconnect",
                "disconnected": "Disconnected", "made_default": "Made default", "updated": "Updated"}


def _events(request: HttpRequest, connection: SalesforceConnection) -> list:
    events = list(selectors.connection_events(tenant=request.tenant, connection=connection)[:EVENTS_SHOWN])
    for event in events:
        event.label = EVENT_LABELS.get(event.kind, event.kind.replace("_", " ").capitalize())
    return events


def _hint(code: str) -> str:
    if not code:
        return ""
    return AUTHORIZE_HINTS.get(code) or HINTS.get(code) or SalesforceError(code, "").hint


def _is_admin(request: HttpRequest) -> bool:
    return request.membership.has_role("admin")


def _connection(request: HttpRequest, pk: int) -> SalesforceConnection:
    return selectors.salesforce_connection_get(tenant=request.tenant, pk=pk)


def _detail(connection: SalesforceConnection):
    return redirect("integrations:connection", pk=connection.pk)


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("integrations:oauth_callback"))


# --- index and connect --------------------------------------------------------------------------

@tenant_page("admin")
def integration_settings(request: HttpRequest) -> HttpResponse:
    connections = list(selectors.salesforce_connection_list(tenant=request.tenant))
    return render(request, "integrations/index.html", {
        "connections": connections,
        "default_connection": next((c for c in connections if c.is_default), None),
        "connect_url": reverse("integrations:connect"),
    })


def _start_oauth(request: HttpRequest, connection: SalesforceConnection) -> HttpResponse:
    """Send the browser to Salesforce's authorize page; the state, the PKCE verifier and the
    connection id wait in this session for the callback."""
    redirect_uri = _callback_url(request)
    try:
        url, state, verifier = authorization_url(svc.oauth_app(connection), redirect_uri=redirect_uri)
    except SalesforceError as exc:
        svc.connection_record_error(connection=connection, error=exc)
        messages.error(request, f"Could not start the Salesforce sign-in: {exc.message}")
        return _detail(connection)
    except OAuth2Error as exc:  # e.g. an http login URL without OAUTHLIB_INSECURE_TRANSPORT
        error = SalesforceError(exc.error or "invalid_request", exc.description or str(exc))
        svc.connection_record_error(connection=connection, error=error)
        messages.error(request, f"Could not start the Salesforce sign-in: {error.message}")
        return _detail(connection)
    pending = dict(request.session.get(OAUTH_SESSION_KEY) or {})
    # Keep the few newest sign-ins (two tabs may be signing in to two orgs).
    for old in list(pending)[:-4]:
        pending.pop(old)
    pending[state] = {"connection": connection.pk, "tenant": request.tenant.pk, "verifier": verifier, "redirect_uri": redirect_uri}
    request.session[OAUTH_SESSION_KEY] = pending
    return redirect(url)


def _connect_now(request: HttpRequest, connection: SalesforceConnection, data: dict[str, Any]) -> SalesforceConnection:
    """Client credentials or username + password + token: one call to the token endpoint."""
    if connection.auth_method == AuthMethod.PASSWORD:
        return svc.connection_connect_password(connection=connection, username=data["username"], password=data["password"],
                                               security_token=data.get("security_token", ""), actor=request.user)
    return svc.connection_connect_client_credentials(connection=connection, actor=request.user)


class _RollBack(Exception):
    def __init__(self, error: SalesforceError) -> None:
        self.error = error


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def connect(request: HttpRequest) -> HttpResponse:
    allow_ca = bool(django_settings.DEBUG)
    form = ConnectForm(request.POST or None, allow_ca_bundle=allow_ca, product_app=bool(django_settings.SALESFORCE_CLIENT_ID))
    sign_in_error: SalesforceError | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                connection = svc.connection_create(
                    tenant=request.tenant, name=data["name"], environment=data["environment"], login_url=data["login_url"].strip(),
                    auth_method=data["auth_method"], client_id=data["client_id"].strip(), client_secret=data["client_secret"],
                    ca_bundle_path=(data.get("ca_bundle_path") or "").strip(), actor=request.user)
                if data["auth_method"] != AuthMethod.OAUTH_WEB:
                    try:
                        _connect_now(request, connection, data)
                    except SalesforceError as exc:
                        # A refused login leaves nothing behind: the admin fixes the form and retries.
                        raise _RollBack(exc) from exc
        except ValidationError as exc:
            form.add_error(None, exc)
        except _RollBack as rollback:
            sign_in_error = rollback.error
        else:
            if data["auth_method"] == AuthMethod.OAUTH_WEB:
                return _start_oauth(request, connection)
            messages.success(request, f"Connected “{connection.name}” to org {connection.org_id} as {connection.sf_username}.")
            return _detail(connection)
    return render(request, "integrations/connect.html", {
        "form": form, "callback_url": _callback_url(request), "method_help": AUTH_METHOD_HELP,
        "sign_in_error": sign_in_error, "sign_in_hint": _hint(sign_in_error.code) if sign_in_error else "",
        "product_app": bool(django_settings.SALESFORCE_CLIENT_ID),
    })


@tenant_page("admin")
def oauth_callback(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    error, description = request.GET.get("error", ""), request.GET.get("error_description", "")
    pending = dict(request.session.get(OAUTH_SESSION_KEY) or {})
    entry = pending.pop(state, None) if state else None
    if entry is None or entry.get("tenant") != request.tenant.pk:
        # Not a sign-in this browser started (forged, replayed, or another organization's).
        return render(request, "integrations/oauth_refused.html", {
            "error": error, "description": description, "hint": AUTHORIZE_HINTS["state_mismatch"],
        }, status=400)
    request.session[OAUTH_SESSION_KEY] = pending
    connection = _connection(request, entry["connection"])
    if error:
        failure = SalesforceAuthError(error, description or error)
        svc.connection_record_error(connection=connection, error=failure)
        messages.error(request, f"Salesforce did not connect: {error} — {description or 'no description given'}")
        return _detail(connection)
    try:
        svc.connection_oauth_complete(connection=connection, code=request.GET.get("code", ""), code_verifier=entry["verifier"],
                                      redirect_uri=entry["redirect_uri"], actor=request.user)
    except SalesforceError as exc:
        svc.connection_record_error(connection=connection, error=exc)
        messages.error(request, f"Salesforce did not connect: {exc.code} — {exc.message}")
        return _detail(connection)
    messages.success(request, f"Connected “{connection.name}” to org {connection.org_id} as {connection.sf_username}.")
    return _detail(connection)


# --- one connection -----------------------------------------------------------------------------

def _usage(connection: SalesforceConnection) -> dict[str, Any] | None:
    if not connection.api_usage_max:
        return None
    used = connection.api_usage_used or 0
    percent = min(100, round(used * 100 / connection.api_usage_max)) if connection.api_usage_max else 0
    return {"used": used, "max": connection.api_usage_max, "percent": percent,
            "tone": "red" if percent >= 90 else "amber" if percent >= 70 else "green"}


@tenant_page("viewer")
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    is_admin = _is_admin(request)
    context: dict[str, Any] = {
        "connection": connection,
        "is_admin": is_admin,
        "can_dry_run": request.membership.has_role("member"),
        "usage": _usage(connection),
        "error_hint": _hint(connection.last_error_code),
        "events": _events(request, connection),
        "can_reconnect": connection.status in (ConnectionStatus.NEEDS_RECONNECT, ConnectionStatus.DISCONNECTED, ConnectionStatus.PENDING),
    }
    if is_admin:
        context["update_form"] = ConnectionUpdateForm(initial={
            "name": connection.name, "push_enabled": connection.push_enabled, "credential_mode": connection.credential_mode})
        context["user_rows"] = selectors.user_link_rows(tenant=request.tenant, connection=connection)
        context["per_user"] = connection.credential_mode == CredentialMode.PER_USER
        context["uses_product_app"] = not connection.client_id
    return render(request, "integrations/connection.html", context)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def connection_reconnect(request: HttpRequest, pk: int) -> HttpResponse:
    """A new login for the same connection (tokens revoked, sandbox refreshed, password changed)."""
    connection = _connection(request, pk)
    switching = request.method == "POST" and request.POST.get("method") == AuthMethod.OAUTH_WEB
    if connection.auth_method == AuthMethod.OAUTH_WEB or switching:
        if request.method != "POST":
            return _detail(connection)
        # The auth method changes only when the OAuth callback succeeds (the service sets it).
        return _start_oauth(request, connection)
    form = PasswordLoginForm(request.POST or None) if connection.auth_method == AuthMethod.PASSWORD else None
    error: SalesforceError | None = None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            _connect_now(request, connection, form.cleaned_data if form else {})
        except ValidationError as exc:
            if form is not None:
                form.add_error(None, exc)
        except SalesforceError as exc:
            svc.connection_record_error(connection=connection, error=exc)
            error = exc
        else:
            messages.success(request, f"Reconnected “{connection.name}” to org {connection.org_id} as {connection.sf_username}.")
            return _detail(connection)
    return render(request, "integrations/reconnect.html", {
        "connection": connection, "form": form, "error": error, "error_hint": _hint(error.code) if error else "",
    }, status=400 if error else 200)


@tenant_page("admin")
@require_POST
def connection_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    try:
        svc.connection_refresh(connection=connection, actor=request.user)
    except SalesforceError as exc:
        svc.connection_record_error(connection=connection, error=exc)
        messages.error(request, f"Refresh failed: {exc.code} — {exc.message}")
    else:
        messages.success(request, "Connection refreshed: new access token, health updated.")
    return _detail(connection)


@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def connection_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    if request.method == "POST":
        svc.connection_disconnect(connection=connection, actor=request.user)
        messages.success(request, f"“{connection.name}” is disconnected. Data on both sides is kept; records stop syncing.")
        return _detail(connection)
    return render(request, "integrations/disconnect.html", {"connection": connection})


@tenant_page("admin")
@require_POST
def connection_make_default(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    svc.connection_set_default(tenant=request.tenant, connection=connection, actor=request.user)
    messages.success(request, f"“{connection.name}” is now the default org: every change is synced to it.")
    return _detail(connection)


@tenant_page("admin")
@require_POST
def connection_update(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    form = ConnectionUpdateForm(request.POST)
    if form.is_valid():
        changed = {k: v for k, v in form.cleaned_data.items() if getattr(connection, k) != v}
        if changed:
            try:
                svc.connection_update(tenant=request.tenant, connection=connection, data=changed, actor=request.user)
            except ValidationError as exc:
                form.add_error(None, exc)
                connection.refresh_from_db()
            else:
                messages.success(request, "Connection settings saved.")
                return _detail(connection)
        else:
            return _detail(connection)
    for field, errors in form.errors.items():
        messages.error(request, f"{form.fields[field].label if field in form.fields else 'Connection'}: {' '.join(errors)}")
    return _detail(connection)


# --- user mapping ---------------------------------------------------------------------------------

@tenant_page("admin")
@require_POST
def user_links_save(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    rows = selectors.user_link_rows(tenant=request.tenant, connection=connection)
    errors: dict[int, dict[str, list[str]]] = {}
    try:
        with transaction.atomic():
            for row in rows:
                uid = row["user"].pk
                link = row["link"]
                posted = {key: request.POST.get(f"u{uid}-{key}", "") for key in ("salesforce_user_id", "unique_identifier", "username")}
                password = request.POST.get(f"u{uid}-password", "")
                current = {key: getattr(link, key, "") if link else "" for key in posted}
                if posted == current and not password:
                    continue
                try:
                    # Passwords are write-only: an empty box keeps the stored one.
                    user_link_set(connection=connection, user_id=uid, password=password or None, **posted)
                except ValidationError as exc:
                    errors[uid] = exc.message_dict
            if errors:
                raise _RollBack(SalesforceError("INVALID", "user links"))
    except _RollBack:
        rows = selectors.user_link_rows(tenant=request.tenant, connection=connection)
        for row in rows:
            uid = row["user"].pk
            row["errors"] = errors.get(uid, {})
            row["posted"] = {key: request.POST.get(f"u{uid}-{key}", "") for key in ("salesforce_user_id", "unique_identifier", "username")}
        return render(request, "integrations/connection.html", {
            "connection": connection, "is_admin": True, "can_dry_run": True, "usage": _usage(connection),
            "error_hint": _hint(connection.last_error_code),
            "events": _events(request, connection),
            "update_form": ConnectionUpdateForm(initial={"name": connection.name, "push_enabled": connection.push_enabled,
                                                         "credential_mode": connection.credential_mode}),
            "user_rows": rows, "per_user": connection.credential_mode == CredentialMode.PER_USER,
            "user_errors": True, "uses_product_app": not connection.client_id,
            "can_reconnect": connection.status != ConnectionStatus.CONNECTED,
        }, status=400)
    messages.success(request, "User mapping saved.")
    return redirect(reverse("integrations:connection", args=[connection.pk]) + "#users")


@tenant_page("admin")
@require_POST
def user_links_prefill_view(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    try:
        added = user_links_prefill(connection=connection)
    except SalesforceError as exc:
        messages.error(request, f"Could not read the org's users: {exc.code} — {exc.message}")
    else:
        messages.success(request, f"Matched {added} member{'s' if added != 1 else ''} to Salesforce users by e-mail."
                         if added else "No new matches: every member is linked already, or no active Salesforce user has their e-mail.")
    return redirect(reverse("integrations:connection", args=[connection.pk]) + "#users")


# --- sync settings --------------------------------------------------------------------------------

def _org_describe(request: HttpRequest, connection: SalesforceConnection, data: dict) -> tuple[dict | None, str]:
    """The org's describe of the mapped object when connected (cached for an hour), or why not."""
    if connection.status != ConnectionStatus.CONNECTED:
        return None, ""
    try:
        return describe_get(connection=connection, sobject=(data.get("objects") or {}).get("opportunity", "Opportunity")), ""
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


@tenant_page("member")
@require_http_methods(["GET", "POST"])
def settings_edit(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    current = settings_current(connection=connection)
    describe, describe_problem = _org_describe(request, connection, current)
    if request.method == "GET":
        suggested: dict[str, str] = {}
        stages = picklist_values(describe, "StageName") if describe else []
        if stages and any(stage not in stages for stage in (current.get("stage_mapping") or {}).values()):
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


@tenant_page("member")
def settings_history(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    versions = selectors.settings_versions(tenant=request.tenant, connection=connection)
    return render(request, "integrations/history.html", {"connection": connection, "versions": versions})


# --- dry run ----------------------------------------------------------------------------------------

def _shown_value(value: Any) -> tuple[str | None, bool]:
    """(the value as the request body carries it, whether it is a reference resolved at send time)."""
    if isinstance(value, dict) and "@account" in value:
        return f"Id of the Account above (Cothon_Department_Key__c = {value['@account']})", True
    if value is None or isinstance(value, str):
        return value, False
    return json.dumps(value, ensure_ascii=False, default=str), False


def _writes_shown(result) -> list[dict[str, Any]]:
    return [{"write": w, "rows": [(name, *_shown_value(value)) for name, value in w.fields.items()]} for w in result.writes]


@tenant_page("member")
def dry_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    query = request.GET.get("q", "").strip()
    candidates = opportunity_selectors.opportunity_list(tenant=request.tenant, search=query).order_by("-updated_at")[:15]
    opportunity = None
    result = None
    writes: list[dict[str, Any]] = []
    error: SalesforceError | None = None
    if request.GET.get("opportunity"):
        if not request.GET["opportunity"].isdigit():
            raise Http404("No such opportunity")
        opportunity = opportunity_selectors.opportunity_get(tenant=request.tenant, pk=request.GET["opportunity"])
        try:
            result = dry_run(connection=connection, opportunity=opportunity)
        except SalesforceError as exc:
            error = exc
        else:
            writes = _writes_shown(result)
    return render(request, "integrations/dry_run.html", {
        "connection": connection, "query": query, "candidates": candidates, "opportunity": opportunity,
        "result": result, "writes": writes, "error": error, "error_hint": _hint(error.code) if error else "",
    })


# --- custom fields ------------------------------------------------------------------------------------

@tenant_page("admin")
@require_http_methods(["GET", "POST"])
def custom_fields(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    context: dict[str, Any] = {"connection": connection, "plan": None, "result": None, "error": None}
    if connection.status != ConnectionStatus.CONNECTED:
        return render(request, "integrations/custom_fields.html", context)
    try:
        if request.method == "POST":
            result = install_custom_fields(connection=connection)
            specs = {}
            if result.plan:
                specs.update({o.name: f"{o.name} — custom object “{o.label}” (plural “{o.plural_label}”)" for o in result.plan.missing_objects})
                specs.update({f.full_name: f.describe_line() for f in result.plan.missing_fields})
            context["result"] = result
            context["failed"] = [{"name": name, "why": why, "spec": specs.get(name, name)} for name, why in result.failed]
        context["plan"] = install_plan(connection=connection)
        context["all_fields"] = [f.describe_line() for f in STANDARD_OBJECT_FIELDS] + [
            line for obj in CUSTOM_OBJECTS for line in
            [f"{obj.name} — custom object “{obj.label}”"] + [f.describe_line() for f in obj.fields]]
    except SalesforceError as exc:
        context["error"] = exc
        context["error_hint"] = _hint(exc.code)
    return render(request, "integrations/custom_fields.html", context)
