"""Connecting, reconnecting, refreshing and disconnecting Salesforce orgs; users."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST
from oauthlib.oauth2 import OAuth2Error

from cothon.tenancy.pages import tenant_page
from integrations import connections as svc
from integrations import selectors
from integrations.forms import (
    AUTH_METHOD_HELP,
    ConnectForm,
    ConnectionUpdateForm,
    PasswordLoginForm,
)
from integrations.models import AuthMethod, ConnectionStatus, CredentialMode, SalesforceConnection
from integrations.salesforce.errors import SalesforceAuthError, SalesforceError
from integrations.salesforce.oauth import authorization_url
from integrations.user_links import OrgUser, org_active_users, suggested_org_user, user_link_set, user_links_prefill
from sync_engine import account_cache
from sync_engine.services import first_full_sync_done
from integrations.views.common import (
    AUTHORIZE_HINTS,
    OAUTH_SESSION_KEY,
    _callback_url,
    _connection,
    _detail,
    _events,
    _hint,
    _is_admin,
)


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


# Credentials typed into a form never appear in an error report (ADMINS mail, Sentry, a debug page).
CREDENTIAL_FIELDS = ("password", "security_token", "client_secret")


@sensitive_variables()
def _connect_now(request: HttpRequest, connection: SalesforceConnection, data: dict[str, Any]) -> SalesforceConnection:
    """Client credentials or username + password + token: one call to the token endpoint."""
    if connection.auth_method == AuthMethod.PASSWORD:
        return svc.connection_connect_password(connection=connection, username=data["username"], password=data["password"],
                                               security_token=data.get("security_token", ""), actor=request.user)
    return svc.connection_connect_client_credentials(connection=connection, actor=request.user)


class _RollBack(Exception):
    def __init__(self, error: SalesforceError) -> None:
        self.error = error


@sensitive_post_parameters(*CREDENTIAL_FIELDS)
@tenant_page("admin")
@require_http_methods(["GET", "POST"])
@sensitive_variables()
def connect(request: HttpRequest) -> HttpResponse:
    # A server-side CA file is for the local emulator only (its self-signed certificate).
    allow_ca = bool(django_settings.DEBUG or django_settings.COTHON_ALLOW_LOOPBACK_SALESFORCE)
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


@tenant_page("admin")
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
        "needs_first_full_sync": connection.status == ConnectionStatus.CONNECTED and not first_full_sync_done(connection),
    }
    if is_admin:
        context["update_form"] = ConnectionUpdateForm(initial={
            "name": connection.name, "push_enabled": connection.push_enabled, "credential_mode": connection.credential_mode})
        context.update(_user_section(request, connection))
        context["uses_product_app"] = not connection.client_id
        context["account_cache"] = account_cache.account_cache_summary(connection=connection)
    return render(request, "integrations/connection.html", context)


@sensitive_post_parameters(*CREDENTIAL_FIELDS)
@tenant_page("admin")
@require_http_methods(["GET", "POST"])
@sensitive_variables()
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
@require_POST
def connection_account_cache_clear(request: HttpRequest, pk: int) -> HttpResponse:
    """Troubleshooting › Clear account cache: the next push looks Accounts up again."""
    connection = _connection(request, pk)
    removed = account_cache.account_cache_clear(connection=connection, actor=request.user)
    noun = "entry" if removed == 1 else "entries"
    messages.success(request, f"Account cache cleared ({removed} {noun}). The next sync looks Accounts up in Salesforce again.")
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

USER_FIELDS = ("salesforce_user_id", "unique_identifier", "username")


def _org_users(connection: SalesforceConnection) -> tuple[list[OrgUser] | None, str]:
    """The org's active users for the picker, or None and why not (the Id box still works)."""
    if connection.status != ConnectionStatus.CONNECTED or not connection.access_token_encrypted:
        return None, "The connection is not connected, so the org's users cannot be listed; type User Ids instead."
    try:
        return org_active_users(connection=connection), ""
    except SalesforceError as exc:
        return None, f"Could not list the org's users ({exc.code}); type User Ids instead."


def _posted_user_fields(request: HttpRequest, uid: int) -> dict[str, str]:
    """A row's posted values. A typed Id (the fallback box) wins over the picker."""
    posted = {key: request.POST.get(f"u{uid}-{key}", "") for key in USER_FIELDS}
    typed = request.POST.get(f"u{uid}-salesforce_user_id_typed", "").strip()
    if typed:
        posted["salesforce_user_id"] = typed
    return posted


def _user_section(request: HttpRequest, connection: SalesforceConnection, *, org_users: list[OrgUser] | None = None,
                  org_users_error: str = "", loaded: bool = False) -> dict[str, Any]:
    """The Users card: one row per member with the picker's choice (the link, else the
    suggested org user, matched by e-mail then name), and the members left unmapped."""
    if not loaded:
        org_users, org_users_error = _org_users(connection)
    rows = selectors.user_link_rows(tenant=request.tenant, connection=connection)
    known = {u.id for u in org_users or []}
    for row in rows:
        link = row["link"]
        current = link.salesforce_user_id if link else ""
        row["suggested"] = None if current or not org_users else suggested_org_user(row["user"], org_users)
        row["selected"] = current or (row["suggested"].id if row["suggested"] else "")
        # A stored Id that is not an active user of the org (deactivated, or typed long ago).
        row["stale_id"] = current if current and org_users is not None and current not in known else ""
    unmapped = [row["user"] for row in rows if not (row["link"] and row["link"].salesforce_user_id)]
    return {"user_rows": rows, "org_users": org_users, "org_users_error": org_users_error, "unmapped_members": unmapped,
            "per_user": connection.credential_mode == CredentialMode.PER_USER}

@sensitive_post_parameters()  # every row has password and token boxes (u<id>-password, u<id>-security_token)
@tenant_page("admin")
@require_POST
@sensitive_variables()
def user_links_save(request: HttpRequest, pk: int) -> HttpResponse:
    connection = _connection(request, pk)
    rows = selectors.user_link_rows(tenant=request.tenant, connection=connection)
    org_users, org_users_error = _org_users(connection)
    errors: dict[int, dict[str, list[str]]] = {}
    try:
        with transaction.atomic():
            for row in rows:
                uid = row["user"].pk
                link = row["link"]
                posted = _posted_user_fields(request, uid)
                password = request.POST.get(f"u{uid}-password", "")
                security_token = request.POST.get(f"u{uid}-security_token", "").strip()
                current = {key: getattr(link, key, "") if link else "" for key in posted}
                if posted == current and not password and not security_token:
                    continue
                try:
                    # Passwords and tokens are write-only: empty boxes keep the stored ones.
                    user_link_set(connection=connection, user_id=uid, password=password or None,
                                  security_token=security_token or None, org_users=org_users, **posted)
                except ValidationError as exc:
                    errors[uid] = exc.message_dict
            if errors:
                raise _RollBack(SalesforceError("INVALID", "user links"))
    except _RollBack:
        section = _user_section(request, connection, org_users=org_users, org_users_error=org_users_error, loaded=True)
        for row in section["user_rows"]:
            uid = row["user"].pk
            row["errors"] = errors.get(uid, {})
            row["posted"] = _posted_user_fields(request, uid)
            row["selected"] = row["posted"]["salesforce_user_id"]
            row["typed"] = request.POST.get(f"u{uid}-salesforce_user_id_typed", "").strip()
        return render(request, "integrations/connection.html", {**section,
            "connection": connection, "is_admin": True, "can_dry_run": True, "usage": _usage(connection),
            "error_hint": _hint(connection.last_error_code),
            "events": _events(request, connection),
            "update_form": ConnectionUpdateForm(initial={"name": connection.name, "push_enabled": connection.push_enabled,
                                                         "credential_mode": connection.credential_mode}),
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
