"""How far back a reconciliation looks.

At least the connection's reconciliation interval and twice its incremental interval, plus a
margin (a record committed late, clocks a little apart). Derived from the runs that covered
the data (conventions, anti-pattern 8): when the last completed reconciliation started earlier
than that (the ones since were deferred or failed), the window reaches back to it, so a
skipped hour is caught up — never further than MAX_WINDOW."""

from __future__ import annotations

import datetime

from integrations.models import SalesforceConnection
from integrations.settings_schema import SyncSettings
from sync_engine.models import SyncRun, SyncRunKind, SyncRunStatus

MARGIN = datetime.timedelta(minutes=10)
MAX_WINDOW = datetime.timedelta(days=7)


def interval(config: SyncSettings) -> datetime.timedelta:
    return datetime.timedelta(minutes=config.frequencies.reconciliation_minutes)


def window_width(config: SyncSettings) -> datetime.timedelta:
    freq = config.frequencies
    return max(interval(config), 2 * freq.incremental_interval) + MARGIN


def last_completed_start(connection: SalesforceConnection, *, before_run_id: int | None = None) -> datetime.datetime | None:
    """When the last reconciliation that finished its reads started (it covered up to then)."""
    runs = SyncRun.objects.filter(connection=connection, kind=SyncRunKind.RECONCILIATION, started_at__isnull=False,
                                  status__in=[SyncRunStatus.SUCCEEDED, SyncRunStatus.FINISHED_WITH_ERRORS])
    if before_run_id is not None:
        runs = runs.exclude(pk=before_run_id)
    return runs.order_by("-started_at").values_list("started_at", flat=True).first()


def window_start(*, connection: SalesforceConnection, config: SyncSettings, now: datetime.datetime,
                 run_id: int | None = None) -> datetime.datetime:
    start = now - window_width(config)
    last = last_completed_start(connection, before_run_id=run_id)
    if last is not None:
        start = min(start, last - MARGIN)
    return max(start, now - MAX_WINDOW)
