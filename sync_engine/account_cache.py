"""The Account lookup cache of a connection (AccountCacheEntry: department name → Salesforce
Account id, trusted for an hour by handlers/department.py): what it holds, and the admin's
"Clear account cache" (Settings › Integrations › the connection, and the API).

Clearing is the seed's fix for stale account data: an Account renamed, merged or deleted in
Salesforce within the hour may still be matched by its old name. After a clear the next push
looks every unlinked department's Account up in Salesforce again (one query per 100 names) and
refills the cache from what Salesforce says now. Linked departments never read the cache (their
link holds the Account id), so clearing costs nothing for them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Max

from integrations.models import ConnectionEvent, SalesforceConnection
from sync_engine.models import AccountCacheEntry

EVENT_KIND = "account_cache_cleared"


@dataclass(frozen=True)
class AccountCacheSummary:
    entries: int
    last_refreshed_at: datetime.datetime | None


def account_cache_summary(*, connection: SalesforceConnection) -> AccountCacheSummary:
    """How many Account lookups the connection has cached and when the newest was refreshed."""
    found = (AccountCacheEntry.objects.filter(connection=connection, connection__tenant_id=connection.tenant_id)
             .aggregate(n=Count("id"), last=Max("refreshed_at")))
    return AccountCacheSummary(found["n"], found["last"])


@transaction.atomic
def account_cache_clear(*, connection: SalesforceConnection, actor: AbstractBaseUser | None) -> int:
    """Forget every cached Account lookup of this connection (its tenant's rows only) and note it
    in the connection's event log with who did it. Returns how many entries were removed."""
    removed, _ = AccountCacheEntry.objects.filter(connection=connection, connection__tenant_id=connection.tenant_id).delete()
    noun = "entry" if removed == 1 else "entries"
    ConnectionEvent.objects.create(
        connection=connection, kind=EVENT_KIND, actor=actor,
        message=f"Account cache cleared ({removed} {noun} removed): the next push looks Accounts up in Salesforce again.")
    return removed
