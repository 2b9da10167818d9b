"""Parallel sync: one org's background work spreads over up to its concurrency cap of lanes,
each claiming its own batch; children never race ahead of parents in flight."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.sync_settings import settings_current, settings_save
from sync_engine import claim as queue, wakeups
from sync_engine.executor import MAX_CONCURRENT_PER_ORG
from sync_engine.models import OutboxEntry, Priority, RecordType
from sync_engine.services import background_lanes, push_and_reschedule


@pytest.fixture
def sent(monkeypatch):
    messages: list[tuple[int, str]] = []
    monkeypatch.setattr(wakeups, "_send", lambda target, lane, countdown: messages.append((target, lane)))
    return messages


def _parallel(connection, alice, on: bool) -> None:
    data = settings_current(connection=connection)
    data["parallel_sync"] = on
    settings_save(connection=connection, data=data, actor=alice.admin, against_org=False)


def _queue(connection, record_type: str, ids, priority: int = Priority.FULL) -> None:
    OutboxEntry.objects.bulk_create([
        OutboxEntry(tenant_id=connection.tenant_id, connection=connection, record_type=record_type, record_id=i, event="sync",
                    priority=priority, available_at=timezone.now()) for i in ids])


def test_with_parallel_sync_a_busy_run_wakes_the_other_background_lanes(alice, connected, sent, monkeypatch):
    import sync_engine.services as services

    _parallel(connected, alice, True)
    assert background_lanes(connected.pk) == MAX_CONCURRENT_PER_ORG
    _queue(connected, RecordType.OPPORTUNITY, range(1, 402))
    monkeypatch.setattr(services, "push_connection", lambda **kwargs: services.PushSummary())  # the spreading only
    push_and_reschedule(connection_id=connected.pk, max_priority=None)
    assert sorted(lane for _, lane in sent) == ["default:1", "default:2", "default:3"]
    sent.clear()
    push_and_reschedule(connection_id=connected.pk, max_priority=None)
    assert sent == [], "lanes already woken are not woken twice"


def test_without_parallel_sync_one_lane_does_the_work(alice, connected, sent, monkeypatch):
    import sync_engine.services as services

    _parallel(connected, alice, False)
    assert background_lanes(connected.pk) == 1
    _queue(connected, RecordType.OPPORTUNITY, range(1, 402))
    monkeypatch.setattr(services, "push_connection", lambda **kwargs: services.PushSummary())
    push_and_reschedule(connection_id=connected.pk, max_priority=None)
    assert sent == []


def test_a_lane_sends_the_background_task_with_its_lane(alice, connected, sent):
    wakeups.wake(connected.pk, wakeups.background_lane(2))
    assert sent == [(connected.pk, "default:2")]


def test_children_wait_while_a_batch_of_their_parents_is_in_flight(alice, connected):
    _queue(connected, RecordType.ANALYSIS, range(1, 11))
    _queue(connected, RecordType.REQUIREMENT, range(1, 61))
    first = queue.claim(connection_id=connected.pk, owner="lane:0", limit=200)
    assert {e.record_type for e in first} == {RecordType.ANALYSIS}
    assert queue.claim(connection_id=connected.pk, owner="lane:1", limit=200) == [], "the analyses are still being written"
    queue.finish(first)
    second = queue.claim(connection_id=connected.pk, owner="lane:1", limit=200)
    assert len(second) == 60 and {e.record_type for e in second} == {RecordType.REQUIREMENT}


def test_two_lanes_claim_disjoint_batches_of_one_type(alice, connected):
    _queue(connected, RecordType.OPPORTUNITY, range(1, 401))
    a = queue.claim(connection_id=connected.pk, owner="lane:0", limit=200)
    b = queue.claim(connection_id=connected.pk, owner="lane:1", limit=200)
    assert len(a) == len(b) == 200 and not ({e.id for e in a} & {e.id for e in b})
