"""Workflow › CRM and Appointments: the admin's query and field mappings per connection, and
how a member's query and Salesforce client are chosen (the pull uses `appointment_query_for` and
`client_for_member`).

Sign-on modes (the SalesPro seed's words):
- **single sign-on** (`credential_mode = integration_user`): one integration user reads every
  appointment; the query filters a member's own with `:user_identifier`, bound to the member's
  unique identifier (their Staff record id) as a quoted SOQL literal.
- **multi-user sign-on** (`per_user`): each member's own username, password and security token;
  the query runs in the member's own session (`:user_identifier`, if used, is still bound)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from cothon.models import Membership
from integrations.connections import client_for
from integrations.member_logins import client_for_user_link
from integrations.models import CredentialMode, SalesforceConnection, SalesforceUserLink
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.ids import salesforce_id_problem
from integrations.salesforce.soql import soql_bind
from sync_engine.appointments.models import AppointmentSettings

USER_IDENTIFIER = "user_identifier"


class AppointmentSetupError(Exception):
    """Why a member's appointments cannot be read yet (settings missing, no identifier, no
    credentials). `code` is stable for callers; `message` says what an admin should do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _settings(connection: SalesforceConnection) -> AppointmentSettings:
    settings = AppointmentSettings.objects.filter(connection=connection).first()
    if settings is None or not settings.soql.strip():
        raise AppointmentSetupError("NO_QUERY", f"No appointment query is set for “{connection.name}”: "
                                                "an admin writes one in Workflow › CRM and Appointments.")
    return settings


def _member_link(connection: SalesforceConnection, member: AbstractBaseUser) -> SalesforceUserLink | None:
    if not Membership.objects.filter(tenant_id=connection.tenant_id, user_id=member.pk).exists():
        raise AppointmentSetupError("NOT_A_MEMBER", f"{member} is not a member of this organization.")
    return SalesforceUserLink.objects.filter(connection=connection, user_id=member.pk).first()


def uses_user_identifier(soql: str) -> bool:
    """Whether the query has the `:user_identifier` placeholder (outside string literals)."""
    try:
        soql_bind(soql, {USER_IDENTIFIER: ""})
    except ValueError:
        return False  # another placeholder: the query is refused on save anyway
    return soql_bind(soql, {USER_IDENTIFIER: "\x00"}) != soql_bind(soql, {USER_IDENTIFIER: ""})


def bind_query(soql: str, *, identifier: str, member_label: str) -> str:
    """The query with `:user_identifier` bound to a member's identifier, which must be a well-formed
    Salesforce id (checked again here: an identifier stored before validation never reaches SOQL)."""
    if not uses_user_identifier(soql):
        return soql_bind(soql, {})
    if not identifier:
        raise AppointmentSetupError("NO_IDENTIFIER", f"{member_label} has no unique identifier: the query filters by "
                                                     ":user_identifier. An admin enters it on the connection page (Users).")
    problem = salesforce_id_problem(identifier)
    if problem:
        raise AppointmentSetupError("BAD_IDENTIFIER", f"The unique identifier of {member_label} is not valid: {problem}")
    return soql_bind(soql, {USER_IDENTIFIER: identifier})


def appointment_query_for(*, connection: SalesforceConnection, member: AbstractBaseUser) -> str:
    """The connection's appointment query bound for one member.

    Raises AppointmentSetupError when no query is configured, the member is not in the
    connection's tenant, or the query filters by `:user_identifier` and the member has no valid
    identifier. In multi-user sign-on the member must also have credentials (see
    `client_for_member`), checked here too so a caller learns it before any call."""
    settings = _settings(connection)
    link = _member_link(connection, member)
    label = member.get_full_name() or member.get_username()
    if connection.credential_mode == CredentialMode.PER_USER:
        _require_credentials(link, label)
    return bind_query(settings.soql, identifier=(link.unique_identifier if link else ""), member_label=label)


def _require_credentials(link: SalesforceUserLink | None, label: str) -> SalesforceUserLink:
    if link is None or not link.username or not link.password_encrypted:
        raise AppointmentSetupError("NO_CREDENTIALS", f"{label} has no Salesforce username and password: the connection uses "
                                                      "multi-user sign-on. An admin enters them on the connection page (Users).")
    return link


def client_for_member(*, connection: SalesforceConnection, member: AbstractBaseUser) -> SalesforceClient:
    """The client a member's appointments are read with: the member's own session in multi-user
    sign-on, the connection's (integration user's) client in single sign-on. Raises
    AppointmentSetupError (no credentials) or SalesforceError (login refused, connection not
    usable)."""
    if connection.credential_mode == CredentialMode.PER_USER:
        link = _require_credentials(_member_link(connection, member), member.get_full_name() or member.get_username())
        return client_for_user_link(link)
    _member_link(connection, member)
    return client_for(connection)
