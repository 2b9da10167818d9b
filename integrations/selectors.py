"""Reads for Salesforce connections, their user links, settings versions and events — always
scoped to one tenant, so another tenant's id is indistinguishable from none (404).

Which connection is the tenant's default is read here; a record's link to Salesforce (SyncLink)
is sync_engine's and read through `sync_engine.links`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from cothon.models import Membership, Tenant
from integrations.models import ConnectionEvent, ConnectionSettingsVersion, SalesforceConnection, SalesforceUserLink


def salesforce_connection_list(*, tenant: Tenant) -> QuerySet[SalesforceConnection]:
    return SalesforceConnection.objects.filter(tenant=tenant).select_related("connected_by")


def salesforce_connection_get(*, tenant: Tenant, pk: Any) -> SalesforceConnection:
    """The connection of this tenant, or 404."""
    return get_object_or_404(salesforce_connection_list(tenant=tenant), pk=pk)


def salesforce_default_connection(*, tenant: Tenant) -> SalesforceConnection | None:
    """The tenant's default Salesforce connection (the sync target of every change), or None."""
    return salesforce_connection_list(tenant=tenant).filter(is_default=True).first()


def salesforce_default_connection_status(*, tenant: Tenant) -> SalesforceConnection | None:
    """The tenant's default connection with only its id, tenant and status loaded (what a
    record's sync state needs), or None: the answer to an API create reads it on every save."""
    return SalesforceConnection.objects.filter(tenant=tenant, is_default=True).only("id", "tenant_id", "status").first()


def connection_events(*, tenant: Tenant, connection: SalesforceConnection) -> QuerySet[ConnectionEvent]:
    return ConnectionEvent.objects.filter(connection__tenant=tenant, connection=connection).select_related("actor")


def settings_versions(*, tenant: Tenant, connection: SalesforceConnection) -> QuerySet[ConnectionSettingsVersion]:
    return ConnectionSettingsVersion.objects.filter(connection__tenant=tenant, connection=connection).select_related("changed_by")


def user_link_rows(*, tenant: Tenant, connection: SalesforceConnection) -> list[dict[str, Any]]:
    """One row per member of the tenant with their link in this connection (None when unlinked)."""
    links = {
        link.user_id: link
        for link in SalesforceUserLink.objects.filter(connection__tenant=tenant, connection=connection)
    }
    members = Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username")
    return [{"membership": m, "user": m.user, "link": links.get(m.user_id)} for m in members]


def user_has_salesforce_user(*, tenant: Tenant, connection: SalesforceConnection, user_id: int) -> bool:
    """Whether this member is mapped to a Salesforce user in the connection (else an
    opportunity assigned to them keeps its Owner in Salesforce)."""
    return (SalesforceUserLink.objects.filter(connection__tenant=tenant, connection=connection, user_id=user_id)
            .exclude(salesforce_user_id="").exists())



def configured_sobject(*, connection: SalesforceConnection, record_type: str) -> str:
    """The Salesforce object a record type goes to in this connection (its settings › objects),
    e.g. Opportunity or a custom object; "" for record types whose object is not configurable."""
    from integrations.sync_settings import sync_settings_for

    return sync_settings_for(connection=connection).objects.for_record_type(record_type)
