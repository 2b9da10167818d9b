"""When each connection's incremental pull is due (beat, every minute)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from sync_engine.pull.schedule import pulls_due
from tests.pull.conftest import save_settings


def test_a_pulling_connection_is_due_once_per_interval(connected):
    now = timezone.now()
    assert pulls_due(now=now) == [connected.pk]
    assert pulls_due(now=now + datetime.timedelta(minutes=14)) == []
    assert pulls_due(now=now + datetime.timedelta(minutes=15)) == [connected.pk]


def test_the_interval_follows_the_connections_setting(connected):
    save_settings(connected, frequencies={"incremental_minutes": 5, "reconciliation_minutes": 60, "daily_full_at": "02:00"})
    now = timezone.now()
    assert pulls_due(now=now) == [connected.pk]
    assert pulls_due(now=now + datetime.timedelta(minutes=5)) == [connected.pk]


def test_push_only_and_disconnected_connections_are_never_pulled(connected):
    save_settings(connected, direction="push")
    assert pulls_due() == []
    save_settings(connected, direction="pull")
    connected.status = "disconnected"
    connected.save()
    assert pulls_due() == []


def test_the_overlap_window_is_read_again_only_until_a_later_cycle_has_run():
    from sync_engine.pull.incremental import OVERLAP, read_from
    from sync_engine.pull.models import PullWatermark

    last_change = timezone.now() - datetime.timedelta(hours=1)
    assert read_from(PullWatermark(watermark=None)) is None
    # Right after a burst: the cycle that applied it started just after it, so the next one
    # reads the burst's last two minutes again (a late commit there is not missed)...
    right_after = PullWatermark(watermark=last_change, queried_at=last_change + datetime.timedelta(seconds=5))
    assert read_from(right_after) == last_change + datetime.timedelta(seconds=5) - OVERLAP
    # ...once a cycle ran well after it, idle cycles start at the watermark itself.
    later = PullWatermark(watermark=last_change, queried_at=last_change + datetime.timedelta(minutes=15))
    assert read_from(later) == last_change
