"""Which connections are due an incremental pull (beat, every minute).

Every `frequencies.incremental_minutes` (default 15) per connection that pulls (bidirectional,
pull only, hybrid), counted from the start of its last pull of the object. The task is sent at
most once per interval: the row's start time is moved at enqueue, so a slow queue never piles
up pull tasks."""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.utils import timezone

from integrations.models import ConnectionStatus, SalesforceConnection
from integrations.sync_settings import settings_current
from sync_engine.pull.incremental import pull_directions
from sync_engine.pull.models import PullWatermark


def pulls_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Connection ids whose incremental pull is due; marks them started (enqueue follows)."""
    now = now or timezone.now()
    due: list[int] = []
    for connection in SalesforceConnection.objects.filter(status=ConnectionStatus.CONNECTED):
        data = settings_current(connection=connection)
        if data.get("direction", "bidirectional") not in pull_directions():
            continue
        sobject = (data.get("objects") or {}).get("opportunity", "Opportunity")
        minutes = int((data.get("frequencies") or {}).get("incremental_minutes", 15) or 15)
        PullWatermark.objects.get_or_create(connection=connection, sobject=sobject)
        marked = PullWatermark.objects.filter(connection=connection, sobject=sobject).filter(
            Q(last_started_at__isnull=True) | Q(last_started_at__lte=now - datetime.timedelta(minutes=minutes))
        ).update(last_started_at=now)
        if marked:
            due.append(connection.pk)
    return due


def scheduled_pulls(*, now: datetime.datetime | None = None) -> list[int]:
    from sync_engine import wakeups

    due = pulls_due(now=now)
    for connection_id in due:
        wakeups.send_named("sync_engine.pull.incremental", args=[connection_id], queue="default")
    return due
