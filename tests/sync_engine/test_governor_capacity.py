"""The governor gives work back as soon as the org's capacity returns (failure 11 of the
hardening issue): a bounded /limits probe while paused, for the rolling window and the fixed
daily reset; manual and real-time work first; nothing lost at the limit; a pause people can see."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

from opportunities import services as opp
from sync_engine.fanout import fan_out_pending
from sync_engine import claim as queue, wakeups
from sync_engine.executor import push_connection
from sync_engine.governor import get_governor
from sync_engine.models import ApiCallBucket, OutboxEntry, OutboxState, Priority, RecordType, SyncLog, SyncRunStatus
from sync_engine.selectors import record_run_state
from sync_engine.services import outbox_sweep, push_and_reschedule, record_sync_now, runs_settle, sync_now_start

PROBE_SECONDS = 1


@pytest.fixture(autouse=True)
def fast_capacity_checks(settings):
    settings.COTHON_LIMITS_PROBE_SECONDS = PROBE_SECONDS



def exhaust(emulator) -> None:
    emulator.client.set_limits("demo", allowance=5000, used=5000)


def in_salesforce(emulator, soql: str) -> list[dict]:
    return emulator.sf(token=emulator.token("demo")).query_all(soql)["records"]


def turn(connection_id: int) -> None:
    """What beat and the workers do once: the sweeper, then both lanes' tasks."""
    outbox_sweep()
    push_and_reschedule(connection_id=connection_id, max_priority=Priority.REALTIME)
    push_and_reschedule(connection_id=connection_id, max_priority=None)


def test_an_exhausted_org_is_checked_every_few_minutes_not_paused_for_a_day(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    exhaust(emulator_reset)
    summary = push_connection(connection_id=connected.pk)
    assert "paused" in summary.stopped_because
    status = get_governor().status(connected.pk)
    # The next capacity check is one probe interval away, whatever the estimate says.
    assert status.paused_until - time.time() <= PROBE_SECONDS + 0.5
    assert status.resume_estimate and status.resume_estimate - time.time() >= 250
    # While paused nothing is sent: the org refuses (and counts) no further request.
    refused = emulator_reset.client.limits("demo")["refused"]
    for _ in range(5):
        assert push_connection(connection_id=connected.pk).api_calls == 0
        outbox_sweep()
    assert emulator_reset.client.limits("demo")["refused"] == refused
    # The pause is in the sync log, with the figures and the plan.
    log = SyncLog.objects.get(connection=connected, operation="pause")
    assert log.result == "paused" and "5,000/5,000" in log.error_message and "checked every" in log.error_message
    # The record's Sync button says what is happening.
    run = record_sync_now(connection=connected, record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk, actor=alice.member)
    get_governor().pause(connected.pk, 600, resume_estimate=time.time() + 3600)
    state = record_run_state(tenant=alice.tenant, run=run, sobject="Opportunity")
    assert state.state == "paused" and "API limit" in state.message
    assert abs(state.extra["resume_at"].timestamp() - (time.time() + 3600)) < 5


@pytest.mark.parametrize("window", ["rolling", "fixed"])
def test_work_resumes_as_soon_as_capacity_returns_manual_and_realtime_first(window, alice, connected, emulator_reset,
                                                                            opportunity_factory):
    background = [opportunity_factory(alice.tenant) for _ in range(3)]
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    OutboxEntry.objects.all().delete()
    run = sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False)
    exhaust(emulator_reset)
    if window == "fixed":
        hour = (datetime.datetime.fromisoformat(emulator_reset.client.clock()["now"]).hour + 1) % 24
        emulator_reset.client.set_limits("demo", window="fixed", reset_hour_utc=hour, used=5000)
    turn(connected.pk)
    assert get_governor().status(connected.pk).paused_until is not None
    # While paused, a bid manager changes a record: it waits too (the quota is gone)…
    urgent = opportunity_factory(alice.tenant, title="Urgent change during the pause")
    turn(connected.pk)
    assert OutboxEntry.objects.filter(state=OutboxState.PENDING).count() >= 4
    # …then capacity returns: the rolling window moves on, or the org's daily reset passes.
    if window == "rolling":
        emulator_reset.client.advance_clock(25 * 3600)
    else:
        emulator_reset.client.advance_clock(3600)
    time.sleep(PROBE_SECONDS + 0.2)
    try:
        for _ in range(4):
            turn(connected.pk)
            if not OutboxEntry.objects.exists():
                break
    finally:
        emulator_reset.client.reset_clock()
    assert not OutboxEntry.objects.exists(), list(OutboxEntry.objects.values("state", "priority", "available_at"))
    # The urgent change went out in the first batch after the pause, before the held run.
    urgent_log = SyncLog.objects.filter(record_type=RecordType.OPPORTUNITY, record_id=urgent.pk, result="success").first()
    held_logs = SyncLog.objects.filter(record_type=RecordType.OPPORTUNITY, record_id__in=[o.pk for o in background], result="success")
    assert urgent_log is not None and urgent_log.id < min(held_logs.values_list("id", flat=True))
    # The held run woke on capacity (no unrelated traffic needed) and finished, every row counted.
    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED and run.processed == run.total
    assert SyncLog.objects.filter(connection=connected, operation="resume").count() == 1
    # The probes are counted (and the pause cost no other calls).
    probes = sum(ApiCallBucket.objects.filter(connection=connected, kind="limits_probe").values_list("calls", flat=True))
    assert 1 <= probes <= 3
    emulator_reset.client.set_limits("demo", window="rolling", used=0)  # the clock went back: room to check
    records = in_salesforce(emulator_reset, "SELECT Cothon_Ref__c FROM Opportunity WHERE Cothon_Ref__c != null")
    refs = [r["Cothon_Ref__c"] for r in records]
    for o in [*background, urgent]:
        assert refs.count(o.reference) == 1


def test_usage_learned_at_the_allowance_does_not_refuse_work_for_good(alice, connected, emulator_reset, opportunity_factory):
    """Successful calls took the learned usage to 5,000/5,000: the next change is held (no
    calls), one /limits probe per interval checks, and work resumes once the org has room."""
    first = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    get_governor().observe(connected.pk, 5000, 5000)  # what the last response header said
    second = opportunity_factory(alice.tenant)
    held = push_connection(connection_id=connected.pk)
    assert held.api_calls == 0 and "limit" in held.stopped_because
    assert held.retry_in_seconds == PROBE_SECONDS
    # The org's usage has since moved on (the window rolled): the probe sees it.
    time.sleep(PROBE_SECONDS + 0.1)
    again = push_connection(connection_id=connected.pk)
    assert again.succeeded >= 1
    assert get_governor().status(connected.pk).used < 5000
    refs = [r["Cothon_Ref__c"] for r in in_salesforce(emulator_reset, "SELECT Cothon_Ref__c FROM Opportunity WHERE Cothon_Ref__c != null")]
    assert first.reference in refs and second.reference in refs


def test_the_batch_that_hits_the_limit_keeps_its_status_changed_task(alice, connected, emulator_reset, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "pursuing"})
    # The opportunity's update lands; the quota runs out on the Task that follows it.
    emulator_reset.client.add_fault(org="demo", path_contains="sobjects/Task", status=403, error_code="REQUEST_LIMIT_EXCEEDED",
                                    message="TotalRequests Limit exceeded.", count=1)
    summary = push_connection(connection_id=connected.pk)
    assert "paused" in summary.stopped_because
    row = OutboxEntry.objects.get(record_type=RecordType.OPPORTUNITY, record_id=opportunity.pk)
    assert row.state == OutboxState.PENDING and "status" in row.changed_fields
    get_governor().pause(connected.pk, -1)
    OutboxEntry.objects.update(available_at=timezone.now())
    push_connection(connection_id=connected.pk)
    assert not OutboxEntry.objects.exists()
    opportunity_id = in_salesforce(emulator_reset, f"SELECT Id FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")[0]["Id"]
    tasks = in_salesforce(emulator_reset, f"SELECT Subject FROM Task WHERE WhatId = '{opportunity_id}'")
    assert any("Status" in t["Subject"] for t in tasks), tasks


def test_after_a_pause_real_time_rows_go_out_in_their_own_batch(alice, connected):
    now = timezone.now()
    for record_id, priority in ((1, Priority.FULL), (2, Priority.REALTIME), (3, Priority.FULL), (4, Priority.MANUAL)):
        OutboxEntry.objects.create(tenant=alice.tenant, connection=connected, record_type=RecordType.OPPORTUNITY, record_id=record_id,
                                   event="sync", priority=priority, available_at=now)
    batch = queue.claim(connection_id=connected.pk, owner="w:1", limit=200)
    assert sorted(e.record_id for e in batch) == [2, 4]


def test_a_resume_wakes_both_lanes_once(alice, connected, emulator_reset, monkeypatch):
    sent = []
    monkeypatch.setattr(wakeups, "_send", lambda c, lane, countdown: sent.append(lane))
    get_governor().pause(connected.pk, -1, resume_estimate=time.time() + 3600)
    OutboxEntry.objects.create(tenant=alice.tenant, connection=connected, record_type=RecordType.OPPORTUNITY, record_id=1,
                               event="sync", priority=Priority.REALTIME, available_at=timezone.now())
    push_connection(connection_id=connected.pk, max_priority=Priority.REALTIME)  # takes the probe: capacity is back
    assert sent[:2] == [wakeups.REALTIME, wakeups.BACKGROUND]
    assert get_governor().status(connected.pk).paused_until is None
    runs_settle(connection_id=connected.pk)
