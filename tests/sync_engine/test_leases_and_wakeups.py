"""A dead worker's claims and slot come back within a lease; a live one keeps them by its
heartbeat; wake-ups never pile up; a run is finished by whichever worker settles its rows."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from integrations.models import ConnectionStatus
from sync_engine import claim as queue, wakeups
from sync_engine.executor import push_connection
from sync_engine.fanout import fan_out_pending
from sync_engine.governor import DatabaseGovernor, get_governor
from sync_engine.heartbeat import lease_heartbeat
from sync_engine.models import OutboxEntry, OutboxState, Priority, RecordType, SyncRun, SyncRunStatus, WakeUp
from sync_engine.services import outbox_sweep, push_and_reschedule, runs_settle, sync_now_start




@pytest.fixture
def sent(monkeypatch):
    """Every broker message a wake-up sends (the real send still happens)."""
    messages: list[tuple[int, str, float]] = []
    real = wakeups._send

    def counting(connection_id: int, lane: str, countdown: float) -> None:
        messages.append((connection_id, lane, countdown))
        real(connection_id, lane, countdown)

    monkeypatch.setattr(wakeups, "_send", counting)
    return messages


def pending_row(connection, tenant, record_id: int, priority: int = Priority.REALTIME, **extra) -> OutboxEntry:
    return OutboxEntry.objects.create(tenant=tenant, connection=connection, record_type=RecordType.OPPORTUNITY, record_id=record_id,
                                      event="updated", priority=priority, available_at=timezone.now(), **extra)


# --- leases and the heartbeat -----------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_live_worker_keeps_its_claims_by_heartbeat_and_a_dead_one_loses_them_within_a_lease(alice, connected, settings):
    settings.COTHON_OUTBOX_LEASE_SECONDS = 1.5
    for record_id in (1, 2, 3):
        pending_row(connected, alice.tenant, record_id)
    claimed = queue.claim(connection_id=connected.pk, owner="live:1", limit=10)
    assert len(claimed) == 3
    with lease_heartbeat(lambda: queue.renew(owner="live:1", ids=[e.id for e in claimed]), interval=0.3):
        time.sleep(2.5)  # well past the 1.5 s lease
        assert queue.reclaim_expired() == 0, "a live worker's rows must not be handed to another"
    # The worker "dies": no more beats. Its rows come back one lease later.
    time.sleep(1.8)
    assert queue.reclaim_expired() == 3
    assert OutboxEntry.objects.filter(state=OutboxState.PENDING).count() == 3


def test_renewing_someone_elses_claim_does_nothing(alice, connected):
    pending_row(connected, alice.tenant, 1)
    claimed = queue.claim(connection_id=connected.pk, owner="a:1", limit=10)
    assert queue.renew(owner="b:2", ids=[e.id for e in claimed]) == 0
    assert queue.renew(owner="a:1", ids=[e.id for e in claimed]) == 1


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_a_governor_slot_is_a_lease_that_a_heartbeat_renews(backend, alice, connected, settings):
    if backend == "redis":
        if not settings.REDIS_URL:
            pytest.skip("Redis backend: REDIS_URL not set")
        governor = get_governor()
    else:
        governor = DatabaseGovernor()
    token = governor.acquire(connected.pk, 1, lease_seconds=0.6)
    assert token and governor.acquire(connected.pk, 1, lease_seconds=0.6) is None
    time.sleep(0.4)
    assert governor.renew(connected.pk, token, 0.6)
    time.sleep(0.4)  # 0.8 s after acquiring: alive only because it was renewed
    assert governor.acquire(connected.pk, 1, lease_seconds=0.6) is None
    time.sleep(0.7)  # no more beats: the holder is presumed dead
    assert governor.acquire(connected.pk, 1, lease_seconds=0.6) is not None
    assert not governor.renew(connected.pk, token, 0.6), "an expired slot taken by another must stay theirs"


def test_the_heartbeat_is_not_started_inside_a_transaction(alice, connected):
    """Unit tests run in a transaction: a second connection could not see (or would wait on)
    the rows, so the heartbeat leaves them alone instead of hanging."""
    calls = []
    with lease_heartbeat(lambda: calls.append(1), interval=0.05):
        time.sleep(0.3)
    assert calls == []


# --- wake-ups ---------------------------------------------------------------------------------

def test_a_slot_held_by_a_dead_process_causes_no_re_enqueue_storm(alice, connected, sent):
    """The killed worker's slot stays held until its lease runs out. Meanwhile every attempt
    backs off and the sweeper adds nothing while a wake-up is pending: a handful of messages,
    not one a second."""
    governor = get_governor()
    assert governor.acquire(connected.pk, 2, lease_seconds=300)  # the dead worker's slots
    assert governor.acquire(connected.pk, 2, lease_seconds=300)
    pending_row(connected, alice.tenant, 1)
    delays = []
    for _ in range(30):  # 30 task runs and 30 sweeps
        WakeUp.objects.filter(connection=connected).update(due_at=timezone.now() - datetime.timedelta(seconds=1))
        summary = push_and_reschedule(connection_id=connected.pk, max_priority=Priority.REALTIME)
        assert summary.stopped_because == "busy"
        delays.append(summary.retry_in_seconds)
        outbox_sweep()
    assert delays[:5] == [2.0, 4.0, 8.0, 16.0, 32.0] and max(delays) == wakeups.BUSY_BACKOFF_MAX_SECONDS
    # Each task run asks for exactly one next wake-up; long backoffs are rows the sweeper sends
    # when due, not delayed messages piling up in the broker.
    assert len(sent) <= 31
    assert WakeUp.objects.filter(connection=connected).count() == 1


def test_wake_ups_coalesce_to_one_per_lane(alice, connected, sent):
    for _ in range(50):
        wakeups.wake(connected.pk, wakeups.REALTIME)
    assert len(sent) == 1
    wakeups.wake(connected.pk, wakeups.BACKGROUND, delay=5)
    wakeups.wake(connected.pk, wakeups.BACKGROUND, delay=8)  # later than the pending one: nothing
    assert len(sent) == 2
    wakeups.wake(connected.pk, wakeups.BACKGROUND)  # earlier: a user's change does not wait
    assert len(sent) == 3


def test_a_long_wait_is_a_row_the_sweeper_sends_when_due(alice, connected, sent):
    wakeups.wake(connected.pk, wakeups.BACKGROUND, delay=600)
    assert sent == [] and wakeups.pending(connected.pk)[wakeups.BACKGROUND] > timezone.now()
    assert wakeups.send_due() == 0
    WakeUp.objects.filter(connection=connected).update(due_at=timezone.now())
    assert wakeups.send_due() == 1 and len(sent) == 1
    assert wakeups.send_due() == 0, "sent once, not at every sweep"


def test_a_lost_wake_up_is_sent_again(alice, connected, sent):
    wakeups.wake(connected.pk, wakeups.REALTIME)
    assert len(sent) == 1
    # Its worker died holding the message: the row stays "sent" and overdue.
    WakeUp.objects.filter(connection=connected).update(due_at=timezone.now() - wakeups.LOST_AFTER - datetime.timedelta(seconds=1))
    assert wakeups.send_due() == 1 and len(sent) == 2


def test_saves_during_a_pause_send_nothing_until_it_ends(alice, connected, sent):
    get_governor().pause(connected.pk, 600)
    for _ in range(20):
        wakeups.wake(connected.pk, wakeups.REALTIME)
    assert sent == []
    assert wakeups.pending(connected.pk)[wakeups.REALTIME] > timezone.now() + datetime.timedelta(seconds=500)


# --- runs -------------------------------------------------------------------------------------

def test_a_run_whose_worker_died_is_finished_by_the_rows_another_worker_pushes(alice, connected, opportunity_factory):
    opportunities = [opportunity_factory(alice.tenant) for _ in range(4)]
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    OutboxEntry.objects.all().delete()
    run = sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False)
    assert run.total >= 4
    # A worker claims the run's rows and dies: its lease runs out.
    claimed = queue.claim(connection_id=connected.pk, owner="dead:1", limit=500)
    OutboxEntry.objects.filter(id__in=[e.id for e in claimed]).update(lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert outbox_sweep() == len(claimed)
    # Another worker, woken by the sweeper (no run id in its task), pushes everything.
    push_connection(connection_id=connected.pk)
    runs_settle(connection_id=connected.pk)
    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED
    assert run.processed == run.total and run.succeeded == run.total
    assert len(opportunities) == 4


def test_records_already_queued_count_in_the_run_that_queues_them(alice, connected, opportunity_factory):
    """A record with a pending real-time row keeps it; that row joins the run, so the run
    cannot end at 0/255 while its rows are pushed by someone else."""
    opportunity_factory(alice.tenant)
    fan_out_pending()  # a pending real-time row
    assert OutboxEntry.objects.filter(run__isnull=True).count() >= 1
    run = sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False)
    assert OutboxEntry.objects.filter(run__isnull=True).count() == 0
    assert run.total == OutboxEntry.objects.filter(run=run).count()
    push_connection(connection_id=connected.pk)
    runs_settle(connection_id=connected.pk)
    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED and run.processed == run.total


def test_a_run_that_cannot_go_on_fails_with_the_reason_and_keeps_its_rows(alice, connected, opportunity_factory):
    opportunity_factory(alice.tenant)
    run = sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False)
    type(connected).objects.filter(pk=connected.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)
    runs_settle(connection_id=connected.pk)
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED and "reconnect" in run.message
    assert OutboxEntry.objects.filter(run=run, state=OutboxState.PENDING).count() == run.total


def test_cancel_keeps_rows_that_carry_a_real_change(alice, connected, opportunity_factory):
    changed = opportunity_factory(alice.tenant)
    fan_out_pending()
    run = sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False)
    from sync_engine.services import sync_run_cancel

    sync_run_cancel(run=run)
    run.refresh_from_db()
    assert run.status == SyncRunStatus.CANCELLED
    kept = OutboxEntry.objects.get(record_type=RecordType.OPPORTUNITY, record_id=changed.pk)
    assert kept.run_id is None and kept.event != "sync"
    assert not OutboxEntry.objects.filter(event="sync").exists()
    assert SyncRun.objects.filter(pk=run.pk, status=SyncRunStatus.CANCELLED).exists()
