"""Real-time coalescing: while a burst keeps arriving, a push waits to carry more records, but
never past the oldest change's budget; a lone edit waits only the quiet time; a full
collection goes at once."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from sync_engine import fanout
from sync_engine.fanout import BURST_FULL, await_burst, note_push_seconds, push_due_in
from sync_engine.models import ChangeRecord
from sync_engine.outbox import Change, record_changes
from sync_engine.vocabulary import Event, RecordType

QUIET, BUDGET = 0.15, 0.8


def due(**kwargs) -> float:
    args = dict(waiting=1, oldest_age=0.0, newest_age=0.0, quiet=QUIET, budget=BUDGET, push_seconds=0.25)
    return round(push_due_in(**(args | kwargs)), 3)


def test_a_lone_edit_waits_only_the_quiet_time():
    assert due() == QUIET
    assert due(oldest_age=0.1, newest_age=0.1) == 0.05


def test_while_changes_keep_coming_the_oldest_leaves_room_for_its_push_within_the_budget():
    # A change every 40 ms never leaves a quiet gap: the budget decides.
    assert due(waiting=60, oldest_age=0.5, newest_age=0.01) == 0.05  # 0.8 - 0.25 (push) - 0.5
    assert due(waiting=60, oldest_age=0.55, newest_age=0.01) == 0.0
    # Slower pushes lately: the oldest change's push starts earlier.
    assert due(waiting=60, oldest_age=0.3, newest_age=0.01, push_seconds=0.45) == 0.05


def test_the_quiet_time_follows_the_pace_of_the_burst_within_twice_the_setting():
    # 10 changes over 0.9 s (a gap of 0.1 s on average): a 0.2 s pause is not the end of it.
    assert due(waiting=10, oldest_age=1.0, newest_age=0.1, budget=5.0) == 0.2  # waits up to 0.3 s of quiet
    # Changes every 20 ms: the setting's quiet time, not less.
    assert due(waiting=10, oldest_age=0.28, newest_age=0.1, budget=5.0) == 0.05
    # Sparse changes: never more than twice the setting.
    assert due(waiting=3, oldest_age=3.0, newest_age=0.0, budget=10.0) == 2 * QUIET


def test_a_full_collection_or_an_empty_queue_goes_at_once():
    assert due(waiting=BURST_FULL, oldest_age=0.0, newest_age=0.0) == 0.0
    assert due(waiting=0) == 0.0
    assert due(waiting=5, oldest_age=0.2, newest_age=0.01, push_seconds=2.0) == 0.0, "pushes slower than the budget: no wait"


def test_the_push_estimate_follows_the_measured_pushes(monkeypatch):
    monkeypatch.setattr(fanout, "_push_seconds", 0.25)
    for _ in range(20):
        note_push_seconds(0.6)
    assert fanout._push_seconds == pytest.approx(0.6, abs=0.01)


@pytest.fixture
def no_sleep(monkeypatch, settings):
    """await_burst must decide without waiting: a sleep fails the test."""
    settings.COTHON_COALESCE_QUIET_MS, settings.COTHON_COALESCE_MAX_MS = 60_000, 120_000

    def refuse(seconds: float) -> None:
        raise AssertionError(f"await_burst slept {seconds:.3f}s")

    monkeypatch.setattr(fanout.time, "sleep", refuse)


def test_await_burst_does_not_wait_when_a_full_collection_is_recorded(alice, no_sleep):
    record_changes(tenant=alice.tenant, changes=[Change(RecordType.OPPORTUNITY, i, Event.CREATED) for i in range(1, BURST_FULL + 1)])
    await_burst(tenant_id=alice.tenant.pk)


def test_await_burst_does_not_hold_a_change_past_its_budget(alice, no_sleep):
    record_changes(tenant=alice.tenant, changes=[Change(RecordType.OPPORTUNITY, 1, Event.UPDATED)])
    ChangeRecord.objects.update(created_at=timezone.now() - datetime.timedelta(seconds=125))
    await_burst(tenant_id=alice.tenant.pk)


def test_await_burst_waits_while_a_fresh_change_may_be_followed_by_more(alice, no_sleep):
    record_changes(tenant=alice.tenant, changes=[Change(RecordType.OPPORTUNITY, 1, Event.UPDATED)])
    with pytest.raises(AssertionError, match="slept"):
        await_burst(tenant_id=alice.tenant.pk)


def test_the_push_estimate_counts_until_the_records_are_in_salesforce_not_the_bookkeeping_after(
        alice, connected, emulator_reset, opportunity_factory, monkeypatch, settings):
    """The estimate the budget leaves room for ends when the records' links are written; the
    log rows, queue rows and runs settled after that delay no record."""
    import time

    from sync_engine import services
    from sync_engine.models import SyncLink

    settings.COTHON_COALESCE_QUIET_MS = settings.COTHON_COALESCE_MAX_MS = 0
    noted: list[float] = []
    monkeypatch.setattr(services, "note_push_seconds", noted.append)
    real_runs_settle = services.runs_settle

    def slow_bookkeeping(**kwargs):
        time.sleep(0.5)
        return real_runs_settle(**kwargs)

    monkeypatch.setattr(services, "runs_settle", slow_bookkeeping)
    opportunity = opportunity_factory(alice.tenant)  # recorded through the service

    started = time.monotonic()
    assert services.fan_out_and_push(tenant_id=alice.tenant.pk) >= 1
    took = time.monotonic() - started

    assert SyncLink.objects.filter(connection=connected, record_type="opportunity", record_id=opportunity.pk).exists()
    assert len(noted) == 1 and 0 < noted[0] < took - 0.5, (noted, took)
