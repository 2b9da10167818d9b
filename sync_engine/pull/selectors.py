"""Reads of the pull's state for the connection page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection as connection_db

from integrations.models import SalesforceConnection
from opportunities.models import Opportunity
from sync_engine.pull.models import InboundNotification, PullWatermark


@dataclass
class UnmappedOwner:
    salesforce_user_id: str
    name: str
    opportunities: int


def unmapped_owners(*, connection: SalesforceConnection) -> list[UnmappedOwner]:
    """Salesforce users who own pulled opportunities but have no Cothon user in this
    connection's user mapping (those opportunities keep their assignee)."""
    key = str(connection.pk)
    counts: dict[str, UnmappedOwner] = {}
    opportunities = Opportunity.objects.filter(tenant_id=connection.tenant_id)
    if connection_db.vendor == "postgresql":
        rows = (opportunities.filter(**{f"salesforce_extra__{key}__unmapped_owner__isnull": False})
                .values_list(f"salesforce_extra__{key}__unmapped_owner", flat=True))
    else:
        # SQLite's JSON path reads a key made of digits (the connection id) as an array index,
        # so the development database filters in Python.
        rows = ((extra.get(key) or {}).get("unmapped_owner")
                for extra in opportunities.filter(salesforce_extra__icontains="unmapped_owner")
                .values_list("salesforce_extra", flat=True).iterator() if isinstance(extra, dict))
    for owner in rows:
        if not isinstance(owner, dict) or not owner.get("id"):
            continue
        entry = counts.setdefault(owner["id"], UnmappedOwner(owner["id"], owner.get("name") or "", 0))
        entry.opportunities += 1
    return sorted(counts.values(), key=lambda o: (-o.opportunities, o.name))


@dataclass
class PullState:
    last_finished_at: object
    last_result: str
    last_message: str
    waiting_notifications: int


def pull_state(*, connection: SalesforceConnection) -> PullState | None:
    mark = PullWatermark.objects.filter(connection=connection).order_by("sobject").first()
    waiting = InboundNotification.objects.filter(connection=connection, processed_at__isnull=True).count()
    if mark is None and not waiting:
        return None
    return PullState(mark.last_finished_at if mark else None, mark.last_result if mark else "", mark.last_message if mark else "", waiting)
