"""Who the appointment query runs as. STAND-IN for helper A1's
`sync_engine.appointments.config_services.appointment_query_for` / `client_for_member` (same
names, same keyword arguments), written so the pull could be built before A1's branch landed;
the merge replaces the import in pull.py and this module goes.

Single sign-on (credential_mode integration_user): the connection's own client, and the query
with the member's unique identifier bound to `:user_identifier`. Multi-user sign-on (per_user):
the member's own session from a SOAP login with their username and password + security token
(kept encrypted on their SalesforceUserLink, as the connection keeps its own)."""

from __future__ import annotations

from django.conf import settings as django_settings

from integrations.connections import client_for
from integrations.crypto import decrypt_token
from integrations.models import CredentialMode, SalesforceConnection, SalesforceUserLink
from integrations.salesforce import oauth
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.soql import soql_bind


class MemberNotReady(ValueError):
    """The member cannot be pulled for: no identifier, no credentials (the message says which)."""


def _link(connection: SalesforceConnection, member) -> SalesforceUserLink | None:
    return SalesforceUserLink.objects.filter(connection=connection, user=member).first()


def appointment_query_for(*, connection: SalesforceConnection, member) -> str:
    soql = connection.appointment_settings.soql
    link = _link(connection, member)
    identifier = (link.unique_identifier if link else "").strip()
    if connection.credential_mode == CredentialMode.PER_USER:
        if link is None or not link.username or not link.password_encrypted:
            raise MemberNotReady(f"{_name(member)} has no Salesforce username and password for multi-user sign-on.")
    elif not identifier:
        raise MemberNotReady(f"{_name(member)} has no unique identifier (their Staff record id) for single sign-on.")
    return soql_bind(soql, {"user_identifier": identifier} if identifier else {})


def client_for_member(*, connection: SalesforceConnection, member) -> SalesforceClient:
    if connection.credential_mode != CredentialMode.PER_USER:
        return client_for(connection)
    link = _link(connection, member)
    if link is None or not link.username or not link.password_encrypted:
        raise MemberNotReady(f"{_name(member)} has no Salesforce username and password for multi-user sign-on.")
    app = oauth.OAuthApp(login_url=connection.login_url, client_id="", client_secret="",
                         ca_bundle=connection.ca_bundle_path or None, timeout=django_settings.SALESFORCE_HTTP_TIMEOUT)
    grant = oauth.soap_login(app, username=link.username, password_and_token=decrypt_token(link.password_encrypted))
    return SalesforceClient(instance_url=grant.instance_url, access_token=grant.access_token,
                            api_version=django_settings.SALESFORCE_API_VERSION, ca_bundle=connection.ca_bundle_path or None,
                            timeout=django_settings.SALESFORCE_HTTP_TIMEOUT)


def _name(member) -> str:
    return member.get_full_name() or member.get_username()
