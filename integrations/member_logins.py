"""Multi-user sign-on: a member's own Salesforce session (the SalesPro seed's per-user
credentials: username, password and security token).

The login is Salesforce's SOAP `login()`, the only login that needs no connected app and takes
a security token — a legacy path (Salesforce is retiring SOAP login from API v65.0 and blocks
the OAuth password grant in new orgs), kept because the seed's customers use it; the UI
recommends OAuth. Every call still goes through the one client layer (`SalesforceClient`), with
the connection's timeouts, CA bundle, host rules and call accounting: the member's calls spend
the same org's API allowance."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from integrations.connections import ConnectionNotUsable, call_recorder
from integrations.crypto import decrypt_token, encrypt_token
from integrations.models import ConnectionStatus, SalesforceConnection, SalesforceUserLink
from integrations.salesforce import hosts, oauth
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.errors import SalesforceAuthError

# A Salesforce session lives two hours by default; a shorter reuse keeps logins few (Salesforce
# allows 3,600 logins per user per hour) without ever holding a session the org has dropped —
# an expired one is replaced on INVALID_SESSION_ID anyway.
SESSION_REUSE_SECONDS = 30 * 60


class MemberCredentialsMissing(ConnectionNotUsable):
    """The member has no stored username and password: nothing to log in with."""


def _bare_app(connection: SalesforceConnection) -> oauth.OAuthApp:
    return oauth.OAuthApp(login_url=connection.login_url, client_id="", client_secret="",
                          ca_bundle=connection.ca_bundle_path or None, timeout=settings.SALESFORCE_HTTP_TIMEOUT)


def _same_org(a: str, b: str) -> bool:
    return bool(a) and bool(b) and a[:15] == b[:15]


@sensitive_variables()
def member_login(*, connection: SalesforceConnection, username: str, password_and_token: str) -> oauth.TokenGrant:
    """Log a member in to the connection's org by SOAP login (password + security token).

    Raises SalesforceAuthError when Salesforce refuses, or WRONG_ORG when the credentials belong
    to another org than the connection's (the member's appointments must come from this org);
    ConnectionNotUsable, without a call, when the connection itself is not connected."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ConnectionNotUsable("CONNECTION_NOT_USABLE", f"Connect “{connection.name}” first: a member's login is checked "
                                                           "against the connected org.")
    grant = oauth.soap_login(_bare_app(connection), username=username, password_and_token=password_and_token)
    if connection.org_id and not _same_org(grant.org_id, connection.org_id):
        raise SalesforceAuthError("WRONG_ORG", f"These credentials sign in to org {grant.org_id}, not to this connection's org "
                                               f"{connection.org_id}. Use the member's login of the connected org.")
    return grant


def _session_key(link: SalesforceUserLink) -> str:
    return f"integrations:member-session:{link.pk}"


def member_session_forget(*, link: SalesforceUserLink) -> None:
    """Drop a cached session (credentials changed or removed)."""
    cache.delete(_session_key(link))


@sensitive_variables()
def _fresh_session(connection: SalesforceConnection, link: SalesforceUserLink) -> oauth.TokenGrant:
    password_and_token = decrypt_token(link.password_encrypted)
    if not link.username or not password_and_token:
        raise MemberCredentialsMissing("NO_MEMBER_CREDENTIALS", "This member has no Salesforce username and password for multi-user sign-on; "
                                                                "an admin enters them on the connection page (Users).")
    grant = member_login(connection=connection, username=link.username, password_and_token=password_and_token)
    # Encrypted like every credential, also in the cache.
    cache.set(_session_key(link), (encrypt_token(grant.access_token), grant.instance_url), SESSION_REUSE_SECONDS)
    return grant


@sensitive_variables()
def client_for_user_link(link: SalesforceUserLink) -> SalesforceClient:
    """The member's own SalesforceClient: a reused session, else a new SOAP login; on
    INVALID_SESSION_ID the client logs in again once. Refuses (no call) when the connection is
    not connected or the member has no credentials."""
    connection = link.connection
    if connection.status != ConnectionStatus.CONNECTED:
        raise ConnectionNotUsable("CONNECTION_NOT_USABLE",
                                  f"The Salesforce connection “{connection.name}” is {connection.get_status_display().lower()}; an admin must reconnect it.")
    cached = cache.get(_session_key(link))
    if cached:
        access_token, instance_url = decrypt_token(cached[0]), cached[1]
    else:
        grant = _fresh_session(connection, link)
        access_token, instance_url = grant.access_token, grant.instance_url
    reason = hosts.problem(instance_url, what="The member's instance URL")
    if reason:
        raise ConnectionNotUsable(hosts.HOST_REFUSED, reason)
    return SalesforceClient(
        instance_url=instance_url, access_token=access_token, api_version=settings.SALESFORCE_API_VERSION,
        ca_bundle=connection.ca_bundle_path or None, timeout=settings.SALESFORCE_HTTP_TIMEOUT,
        on_call=call_recorder(connection.pk), token_refresher=lambda: _fresh_session(connection, link).access_token,
    )
