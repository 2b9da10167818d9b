"""Reads for Salesforce connections, their user links, settings versions and events — always
scoped to one tenant, so another tenant's id is indistinguishable from none (404).

The record pages' Salesforce state (which connection is the default, a record's SyncLink) is
read here too: the domain apps (opportunities) must not read integration or sync tables."""

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


# --- the Salesforce state of a record, as the record pages and the API show it ---------------

def opportunity_salesforce_link(*, tenant: Tenant, opportunity) -> dict[str, Any]:
    """What the record page's Salesforce panel shows: the default connection, how many
    connections the tenant has, and this opportunity's SyncLink in the default connection
    (None when it was never pushed)."""
    from sync_engine.models import RecordType, SyncLink

    connection = salesforce_default_connection(tenant=tenant)
    link = None
    if connection is not None:
        link = (
            SyncLink.objects.filter(
                tenant=tenant, connection=connection, record_type=RecordType.OPPORTUNITY,
                record_id=opportunity.pk, sobject="Opportunity",
            )
            .select_related("connection")
            .first()
        )
    return {
        "connection": connection,
        "connection_count": salesforce_connection_list(tenant=tenant).count() if connection is None else None,
        "link": link,
    }


def opportunity_salesforce_links(*, tenant: Tenant, opportunity_ids: list[int]) -> dict[int, Any]:
    """SyncLinks of these opportunities in the tenant's default connection, by opportunity id."""
    from sync_engine.models import RecordType

    return salesforce_links(tenant=tenant, record_type=RecordType.OPPORTUNITY, sobject="Opportunity",
                            record_ids=opportunity_ids)


def salesforce_links(*, tenant: Tenant, record_type: str, sobject: str, record_ids: list[int]) -> dict[int, Any]:
    """SyncLinks of these records in the tenant's default connection, by record id.

    One query whatever the number of ids, so a page of records costs one extra query.
    Records without a link (or with no default connection) are simply absent.
    """
    from sync_engine.models import SyncLink

    if not record_ids:
        return {}
    links = (
        SyncLink.objects.filter(
            tenant=tenant, connection__tenant=tenant, connection__is_default=True,
            record_type=record_type, record_id__in=list(record_ids), sobject=sobject,
        )
        .select_related("connection")
    )
    return {link.record_id: link for link in links}
