"""Which connections are due a reconciliation (beat, every minute).

Every `frequencies.reconciliation_minutes` per connection that is connected and has finished
its first full sync, counted from the start of its last reconciliation — the run row is
written when the task is sent, so a slow queue never piles up reconciliations (at most one
queued or running per connection). A run left queued or running for two intervals lost its
worker or its message: it is failed with that reason and a new one is queued."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import sync_settings_for
from sync_engine.models import SyncRun, SyncRunKind, SyncRunStatus
from sync_engine.reconcile.service import OPEN, reconciliation_request
from sync_engine.reconcile.window import interval
from sync_engine.services import first_full_sync_done

LOST = "Never finished (its worker stopped or its task was lost); the next reconciliation covers its window."


def reconciliation_due(*, connection: SalesforceConnection, now: datetime.datetime) -> bool:
    """Whether the connection's next reconciliation is due (its last one started an interval ago)."""
    every = interval(sync_settings_for(connection=connection))
    runs = SyncRun.objects.filter(connection=connection, kind=SyncRunKind.RECONCILIATION)
    runs.filter(status__in=OPEN, created_at__lte=now - 2 * every).update(
        status=SyncRunStatus.FAILED, finished_at=now, message=LOST)
    if runs.filter(status__in=OPEN).exists():
        return False
    last = runs.order_by("-created_at").values_list("created_at", flat=True).first()
    return last is None or now - last >= every


def scheduled_reconciliations(*, now: datetime.datetime | None = None) -> list[SyncRun]:
    """Queue a reconciliation for each connection that is due; the tasks go out on commit."""
    now = now or timezone.now()
    queued: list[SyncRun] = []
    for connection in SalesforceConnection.objects.filter(status=ConnectionStatus.CONNECTED).select_related("tenant"):
        if not first_full_sync_done(connection):
            continue
        with transaction.atomic():
            # Two beats at once (a restarted beat) must not both queue one: the row lock orders them.
            locked = SalesforceConnection.objects.select_for_update().filter(pk=connection.pk).first()
            if locked is None or not reconciliation_due(connection=locked, now=now):
                continue
            try:
                run = reconciliation_request(connection=locked, message="Scheduled reconciliation.")
            except ValidationError:
                continue
            # The interval counts from this beat's time, not the moment the row was written.
            SyncRun.objects.filter(pk=run.pk).update(created_at=now)
            queued.append(run)
    return queued
