"""Connection lifecycle services: create, connect (OAuth / client credentials / password),
refresh, mark needs-reconnect, disconnect, set default — and the one way to get a client.

Every state change writes a ConnectionEvent (the audit of who did what)."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from cothon.models import Tenant
from integrations.crypto import decrypt_token, encrypt_token
from integrations.models import (
    AuthMethod,
    ConnectionEvent,
    ConnectionStatus,
    Environment,
    SalesforceConnection,
)
from integrations.salesforce import hosts, oauth
from integrations.signals import connection_connected, connection_reconnected
from integrations.salesforce.client import CallRecord, SalesforceClient
from integrations.salesforce.errors import ErrorKind, SalesforceAuthError, SalesforceError

LOGIN_URLS = {Environment.PRODUCTION: "https://login.salesforce.com", Environment.SANDBOX: "https://test.salesforce.com"}


class ConnectionNotUsable(SalesforceAuthError):
    """The connection is disconnected or needs a reconnect: no call is attempted."""


def _event(connection: SalesforceConnection, kind: str, message: str = "", actor: AbstractBaseUser | None = None) -> None:
    ConnectionEvent.objects.create(connection=connection, kind=kind, message=message[:2000], actor=actor)


@sensitive_variables()
def oauth_app(connection: SalesforceConnection) -> oauth.OAuthApp:
    client_id = connection.client_id or settings.SALESFORCE_CLIENT_ID
    secret = decrypt_token(connection.client_secret_encrypted) if connection.client_id else settings.SALESFORCE_CLIENT_SECRET
    if not client_id:
        raise SalesforceError("NO_CONNECTED_APP", "No connected app is configured: set the client id and secret on the connection or SALESFORCE_CLIENT_ID/SECRET.",
                              kind=ErrorKind.PERMANENT)
    return oauth.OAuthApp(login_url=connection.login_url, client_id=client_id, client_secret=secret,
                          ca_bundle=connection.ca_bundle_path or None, timeout=settings.SALESFORCE_HTTP_TIMEOUT)


@sensitive_variables()
@transaction.atomic
def connection_create(
    *,
    tenant: Tenant,
    name: str,
    environment: str = Environment.PRODUCTION,
    login_url: str = "",
    auth_method: str = AuthMethod.OAUTH_WEB,
    client_id: str = "",
    client_secret: str = "",
    ca_bundle_path: str = "",
    is_default: bool | None = None,
    push_enabled: bool | None = None,
    actor: AbstractBaseUser | None = None,
) -> SalesforceConnection:
    """A new, not yet connected, connection. The first one of a tenant becomes the default;
    sandboxes and every non-default connection start with push off (decisions.md): a second
    org receives changes only once its admin switches push on."""
    login_url = (login_url or LOGIN_URLS.get(environment, "")).rstrip("/")
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Give the connection a name, e.g. “Production” or “UAT sandbox”."]
    elif SalesforceConnection.objects.filter(tenant=tenant, name=name.strip()).exists():
        errors["name"] = ["Another connection already has this name."]
    problem = oauth.check_login_url(login_url) if login_url else "Enter the org's login URL (its My Domain)."
    if problem:
        errors["login_url"] = [problem]
    if client_id and not client_secret:
        errors["client_secret"] = ["Enter the connected app's consumer secret too."]
    if errors:
        raise ValidationError(errors)
    first = not SalesforceConnection.objects.filter(tenant=tenant).exists()
    default = first if is_default is None else is_default
    connection = SalesforceConnection(
        tenant=tenant, name=name.strip(), environment=environment, login_url=login_url, auth_method=auth_method,
        client_id=client_id, client_secret_encrypted=encrypt_token(client_secret), ca_bundle_path=ca_bundle_path,
        is_default=default,
        push_enabled=(default and environment != Environment.SANDBOX) if push_enabled is None else push_enabled,
    )
    if connection.is_default:
        SalesforceConnection.objects.filter(tenant=tenant, is_default=True).update(is_default=False)
    connection.full_clean(exclude=["access_token_encrypted", "refresh_token_encrypted", "client_secret_encrypted", "password_encrypted"])
    connection.save()
    _event(connection, "created", f"Connection “{connection.name}” created ({connection.get_auth_method_display()}).", actor)
    from integrations.sync_settings import settings_ensure_initial

    settings_ensure_initial(connection=connection, actor=actor)
    return connection


def _store_grant(connection: SalesforceConnection, grant: oauth.TokenGrant, *, actor: AbstractBaseUser | None, kind: str) -> None:
    now = timezone.now()
    if connection.status == ConnectionStatus.DISCONNECTED:
        # Changes made while it was disconnected were not queued for it: once this commits,
        # the sync engine queues them ("sync resumes where it stopped").
        transaction.on_commit(lambda: connection_reconnected.send(sender=SalesforceConnection, connection=connection))
    connection.access_token_encrypted = encrypt_token(grant.access_token)
    if grant.refresh_token:
        connection.refresh_token_encrypted = encrypt_token(grant.refresh_token)
    connection.instance_url = grant.instance_url
    connection.token_expires_at = now + datetime.timedelta(seconds=settings.SALESFORCE_SESSION_SECONDS)
    if grant.org_id:
        connection.org_id = grant.org_id
    if grant.user_id:
        connection.sf_user_id = grant.user_id
    connection.status = ConnectionStatus.CONNECTED
    connection.last_error_code = ""
    connection.last_error_message = ""
    if kind == "connected":
        connection.connected_at = now
        connection.connected_by = actor
    connection.save()


ORG_IN_USE_MESSAGE = ("This Salesforce org is already connected to another Cothon organization. One org serves one "
                      "Cothon organization, so their records cannot overwrite each other: connect a different org "
                      "(a sandbox, say), or ask the other organization's admin to disconnect it first.")


def _org_held_elsewhere(connection: SalesforceConnection, org_id: str) -> bool:
    """Another tenant's connection uses this org (connected or waiting for a reconnect); a
    disconnected connection has released it. Ids compare on their 15-character form."""
    if not org_id:
        return False
    return (SalesforceConnection.objects.exclude(tenant_id=connection.tenant_id)
            .exclude(status__in=[ConnectionStatus.DISCONNECTED, ConnectionStatus.PENDING])
            .filter(org_id__startswith=org_id[:15]).exists())


def _refuse_shared_org(app: oauth.OAuthApp, grant: oauth.TokenGrant) -> None:
    """The grant is not stored; revoking it (best effort) leaves no live session behind."""
    try:
        oauth.revoke(app, token=grant.refresh_token or grant.access_token)
    except SalesforceError:
        pass
    raise SalesforceError("ORG_IN_USE", ORG_IN_USE_MESSAGE, kind=ErrorKind.PERMANENT)


def _finish_connect(connection: SalesforceConnection, grant: oauth.TokenGrant, actor) -> SalesforceConnection:
    app = oauth_app(connection)
    info = oauth.userinfo(app, instance_url=grant.instance_url, access_token=grant.access_token)
    new_org = info.get("organization_id", grant.org_id)
    if connection.org_id and new_org and connection.org_id[:15] != new_org[:15] and connection.links.exists():
        raise SalesforceError("ORG_MISMATCH",
                              f"This connection was linked to org {connection.org_id}, but you logged in to {new_org}. "
                              "Log in to the same org, or create a new connection for the other one.", kind=ErrorKind.PERMANENT)
    with transaction.atomic():
        _lock_org(new_org)
        held = _org_held_elsewhere(connection, new_org)
        if not held:
            _store_connected(connection, grant, info, new_org, actor)
    if held:
        _refuse_shared_org(app, grant)
    try:
        connection_health_refresh(connection=connection)
    except SalesforceError:
        pass  # health is informative; the connection itself works
    connection_connected.send(sender=SalesforceConnection, connection=connection)
    return connection


def _lock_org(org_id: str) -> None:
    """Two organizations signing in to one org at the same moment: on PostgreSQL the second
    waits here until the first has committed, then sees it (SQLite serialises writers anyway)."""
    if org_id and db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cothon-org:{org_id[:15]}"])


def _store_connected(connection: SalesforceConnection, grant: oauth.TokenGrant, info: dict, new_org: str, actor) -> None:
    connection.sf_username = info.get("preferred_username", "")
    connection.org_id = new_org
    connection.sf_user_id = info.get("user_id", grant.user_id)
    _store_grant(connection, grant, actor=actor, kind="connected")
    _event(connection, "connected", f"Connected to org {connection.org_id} as {connection.sf_username}.", actor)


def connection_oauth_complete(*, connection: SalesforceConnection, code: str, code_verifier: str, redirect_uri: str,
                              actor: AbstractBaseUser | None) -> SalesforceConnection:
    grant = oauth.exchange_code(oauth_app(connection), code=code, code_verifier=code_verifier, redirect_uri=redirect_uri)
    connection.auth_method = AuthMethod.OAUTH_WEB
    return _finish_connect(connection, grant, actor)


def connection_connect_client_credentials(*, connection: SalesforceConnection, actor: AbstractBaseUser | None) -> SalesforceConnection:
    grant = oauth.client_credentials(oauth_app(connection))
    connection.auth_method = AuthMethod.CLIENT_CREDENTIALS
    return _finish_connect(connection, grant, actor)


@sensitive_variables()
def _password_login(connection: SalesforceConnection, username: str, password_and_token: str) -> oauth.TokenGrant:
    app = oauth_app(connection) if (connection.client_id or settings.SALESFORCE_CLIENT_ID) else None
    if app is not None:
        try:
            return oauth.password_grant(app, username=username, password_and_token=password_and_token)
        except SalesforceAuthError as exc:
            # New orgs block the OAuth username-password flow and answer like a wrong password
            # (invalid_grant "authentication failure"); SOAP login may still be allowed, and its
            # INVALID_LOGIN says plainly whether the credentials are wrong.
            if exc.code not in ("unsupported_grant_type", "invalid_grant"):
                raise
    bare = oauth.OAuthApp(login_url=connection.login_url, client_id="", client_secret="",
                          ca_bundle=connection.ca_bundle_path or None, timeout=settings.SALESFORCE_HTTP_TIMEOUT)
    return oauth.soap_login(bare, username=username, password_and_token=password_and_token)


@sensitive_variables()
def connection_connect_password(*, connection: SalesforceConnection, username: str, password: str, security_token: str = "",
                                actor: AbstractBaseUser | None) -> SalesforceConnection:
    """The SalesPro path: username + password + security token (legacy; see the setup guide)."""
    if not username or not password:
        raise ValidationError({"username": ["Enter the Salesforce username and password."]})
    grant = _password_login(connection, username, password + security_token)
    connection.auth_method = AuthMethod.PASSWORD
    connection.username = username
    connection.password_encrypted = encrypt_token(password + security_token)
    return _finish_connect(connection, grant, actor)


def connection_mark_needs_reconnect(*, connection: SalesforceConnection, error: SalesforceError) -> None:
    """Stop using the connection until an admin reconnects it. Queued work is kept."""
    SalesforceConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_RECONNECT, last_error_code=error.code, last_error_message=error.message[:2000],
        updated_at=timezone.now(),
    )
    connection.status = ConnectionStatus.NEEDS_RECONNECT
    connection.last_error_code, connection.last_error_message = error.code, error.message
    _event(connection, "needs_reconnect", f"{error.code}: {error.message}")


@sensitive_variables()
def _renew_access_token(connection: SalesforceConnection) -> str:
    """A fresh access token from the refresh token (or the stored login); on failure the
    connection is marked needs-reconnect and SalesforceAuthError is raised (no retries)."""
    try:
        if connection.auth_method == AuthMethod.PASSWORD:
            grant = _password_login(connection, connection.username, decrypt_token(connection.password_encrypted))
        elif connection.auth_method == AuthMethod.CLIENT_CREDENTIALS:
            grant = oauth.client_credentials(oauth_app(connection))
        else:
            refresh_token = decrypt_token(connection.refresh_token_encrypted)
            if not refresh_token:
                raise SalesforceAuthError("invalid_grant", "No refresh token is stored for this connection.")
            grant = oauth.refresh(oauth_app(connection), refresh_token=refresh_token)
    except SalesforceAuthError as exc:
        if exc.code != "CONNECTION_ERROR":
            connection_mark_needs_reconnect(connection=connection, error=exc)
        raise
    _store_grant(connection, grant, actor=None, kind="refreshed")
    return grant.access_token


def connection_refresh(*, connection: SalesforceConnection, actor: AbstractBaseUser | None) -> SalesforceConnection:
    """The Refresh Connection button: new access token, then the health panel."""
    _renew_access_token(connection)
    _event(connection, "refreshed", "Access token refreshed.", actor)
    connection_health_refresh(connection=connection)
    return connection


def connection_disconnect(*, connection: SalesforceConnection, actor: AbstractBaseUser | None) -> SalesforceConnection:
    """Revoke the token and stop syncing. Data stays on both sides; links are kept so a
    reconnect to the same org resumes where it stopped."""
    message = "Disconnected; token revoked."
    token = decrypt_token(connection.refresh_token_encrypted) or decrypt_token(connection.access_token_encrypted)
    if token:
        try:
            oauth.revoke(oauth_app(connection) if (connection.client_id or settings.SALESFORCE_CLIENT_ID) else oauth.OAuthApp(
                connection.login_url, "", "", connection.ca_bundle_path or None), token=token)
        except SalesforceError as exc:
            message = f"Disconnected; Salesforce did not confirm the token revocation ({exc.code}). Revoke it in Setup › Connected Apps OAuth Usage if needed."
    with transaction.atomic():
        connection.access_token_encrypted = b""
        connection.refresh_token_encrypted = b""
        connection.password_encrypted = b""
        connection.token_expires_at = None
        connection.status = ConnectionStatus.DISCONNECTED
        connection.save()
        _event(connection, "disconnected", message, actor)
    return connection


@transaction.atomic
def connection_set_default(*, tenant: Tenant, connection: SalesforceConnection, actor: AbstractBaseUser | None) -> None:
    if connection.tenant_id != tenant.pk:
        raise PermissionError("connection of another tenant")
    SalesforceConnection.objects.filter(tenant=tenant, is_default=True).exclude(pk=connection.pk).update(is_default=False)
    connection.is_default = True
    connection.save(update_fields=["is_default", "updated_at"])
    _event(connection, "made_default", "Now the default sync target.", actor)


@transaction.atomic
def connection_update(*, tenant: Tenant, connection: SalesforceConnection, data: dict[str, Any], actor) -> SalesforceConnection:
    allowed = {"name", "push_enabled", "credential_mode"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({k: ["This cannot be changed here."] for k in unknown})
    if connection.tenant_id != tenant.pk:
        raise PermissionError("connection of another tenant")
    for key, value in data.items():
        setattr(connection, key, value)
    connection.full_clean(exclude=["access_token_encrypted", "refresh_token_encrypted", "client_secret_encrypted", "password_encrypted"])
    connection.save()
    _event(connection, "updated", ", ".join(f"{k} → {v}" for k, v in data.items()), actor)
    return connection


# --- the client ---------------------------------------------------------------------------

def _record_call(connection_id: int):
    """Keep the org's API usage from every answer's Sforce-Limit-Info on the connection (also
    for calls made in a member's own session: same org, same allowance)."""
    def on_call(record: CallRecord) -> None:
        if record.usage is None:
            return
        updates: dict[str, Any] = {"api_usage_used": record.usage.used, "api_usage_max": record.usage.allowance}
        if record.status is not None and record.status < 400:
            updates["last_success_at"] = timezone.now()
        SalesforceConnection.objects.filter(pk=connection_id).update(**updates)
    return on_call


call_recorder = _record_call


def _chain(*hooks):
    active = [h for h in hooks if h is not None]

    def on_call(record: CallRecord) -> None:
        for hook in active:
            hook(record)
    return on_call


def client_for(connection: SalesforceConnection, *, on_call=None) -> SalesforceClient:
    """The SalesforceClient of a connection, with token refresh and call accounting.

    Refuses (without any network call) when the connection is disconnected or needs a
    reconnect, so a broken credential never turns into a retry storm."""
    if connection.status not in (ConnectionStatus.CONNECTED,):
        raise ConnectionNotUsable("CONNECTION_NOT_USABLE",
                                  f"The Salesforce connection “{connection.name}” is {connection.get_status_display().lower()}; an admin must reconnect it.")
    # Stored before the host rules existed, or the rules changed since: no call leaves for it.
    reason = hosts.problem(connection.instance_url or connection.login_url, what="The connection's instance URL")
    if reason:
        raise ConnectionNotUsable(hosts.HOST_REFUSED, reason)
    access_token = decrypt_token(connection.access_token_encrypted)
    margin = datetime.timedelta(seconds=settings.SALESFORCE_REFRESH_MARGIN_SECONDS)
    if not access_token or (connection.token_expires_at and connection.token_expires_at - margin <= timezone.now()):
        access_token = _renew_access_token(connection)
    return SalesforceClient(
        instance_url=connection.instance_url, access_token=access_token, api_version=settings.SALESFORCE_API_VERSION,
        ca_bundle=connection.ca_bundle_path or None, timeout=settings.SALESFORCE_HTTP_TIMEOUT,
        on_call=_chain(_record_call(connection.pk), on_call), token_refresher=lambda: _renew_access_token(connection),
    )


def connection_record_error(*, connection: SalesforceConnection, error: SalesforceError) -> None:
    SalesforceConnection.objects.filter(pk=connection.pk).update(last_error_code=error.code, last_error_message=error.message[:2000])


def connection_health_refresh(*, connection: SalesforceConnection) -> dict[str, Any]:
    """Read org id, edition and API usage from the org (two calls) and keep them."""
    client = client_for(connection)
    try:
        org = client.query("SELECT Id, Name, OrganizationType, IsSandbox FROM Organization LIMIT 1")["records"]
        limits = client.limits()
    except SalesforceError as exc:
        connection_record_error(connection=connection, error=exc)
        if exc.kind is ErrorKind.AUTH:
            connection_mark_needs_reconnect(connection=connection, error=exc)
        raise
    daily = limits.get("DailyApiRequests", {})
    updates: dict[str, Any] = {"last_success_at": timezone.now()}
    if org:
        updates["edition"] = org[0].get("OrganizationType") or ""
        updates["org_id"] = org[0].get("Id") or connection.org_id
    if "Max" in daily:
        updates["api_usage_max"] = daily["Max"]
        updates["api_usage_used"] = daily["Max"] - daily.get("Remaining", daily["Max"])
    SalesforceConnection.objects.filter(pk=connection.pk).update(**updates)
    for key, value in updates.items():
        setattr(connection, key, value)
    return {"organization": org[0] if org else None, "limits": daily}
