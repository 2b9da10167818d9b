"""Reads for Workflow › CRM and Appointments (always scoped by the connection's tenant)."""

from __future__ import annotations

from dataclasses import dataclass

from cothon.models import Membership
from integrations.models import CredentialMode, SalesforceConnection, SalesforceUserLink
from integrations.salesforce.ids import salesforce_id_problem
from sync_engine.appointments.models import AppointmentSettings


@dataclass
class MemberState:
    """Whether one member's appointments can be read: what is set, and what is missing."""

    membership: Membership
    identifier: str
    identifier_problem: str
    has_credentials: bool
    username: str
    missing: str  # "" when ready

    @property
    def ready(self) -> bool:
        return not self.missing


def appointment_settings_get(*, connection: SalesforceConnection) -> AppointmentSettings | None:
    return AppointmentSettings.objects.filter(connection=connection, connection__tenant_id=connection.tenant_id).first()


def appointment_member_states(*, connection: SalesforceConnection, uses_identifier: bool) -> list[MemberState]:
    """One row per member of the connection's tenant (viewers too: they may be reps)."""
    links = {link.user_id: link for link in SalesforceUserLink.objects.filter(connection=connection)}
    per_user = connection.credential_mode == CredentialMode.PER_USER
    states = []
    for membership in Membership.objects.filter(tenant_id=connection.tenant_id).select_related("user").order_by("user__username"):
        link = links.get(membership.user_id)
        identifier = link.unique_identifier if link else ""
        problem = (salesforce_id_problem(identifier) or "") if identifier else ""
        has_credentials = bool(link and link.username and link.password_encrypted)
        missing = ""
        if per_user and not has_credentials:
            missing = "Salesforce username and password"
        elif uses_identifier and not identifier:
            missing = "unique identifier"
        elif uses_identifier and problem:
            missing = "a valid unique identifier"
        states.append(MemberState(membership, identifier, problem, has_credentials, link.username if link else "", missing))
    return states
