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


def test_children_wait_while_their_own_parent_is_in_flight(alice, connected, opportunity_factory):
    """A lane done with its analyses starts on requirements whose analysis has landed, while
    another lane still writes the last analyses; a requirement never goes before its own."""
    from opportunities import services as opp

    analyses, requirements = [], []
    for _ in range(2):
        analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity_factory(alice.tenant), summary="Fit",
                                       key_findings="Strong fit")
        requirements.append({opp.requirement_add(tenant=alice.tenant, analysis=analysis, code=f"M{k}", text="Hold a DOS",
                                                 kind="mandatory").pk for k in range(3)})
        analyses.append(analysis)
    _queue(connected, RecordType.ANALYSIS, [a.pk for a in analyses])
    _queue(connected, RecordType.REQUIREMENT, sorted(requirements[0] | requirements[1]))
    first = queue.claim(connection_id=connected.pk, owner="lane:0", limit=1)
    second = queue.claim(connection_id=connected.pk, owner="lane:1", limit=200)
    assert [e.record_id for e in first] == [analyses[0].pk] and [e.record_id for e in second] == [analyses[1].pk]
    assert queue.claim(connection_id=connected.pk, owner="lane:2", limit=200) == [], "both analyses are being written"
    queue.finish(first)
    third = queue.claim(connection_id=connected.pk, owner="lane:2", limit=200)
    assert {e.record_type for e in third} == {RecordType.REQUIREMENT} and {e.record_id for e in third} == requirements[0]
    assert queue.claim(connection_id=connected.pk, owner="lane:3", limit=200) == []
    queue.finish(second)
    fourth = queue.claim(connection_id=connected.pk, owner="lane:3", limit=200)
    assert {e.record_id for e in fourth} == requirements[1]


def test_children_of_a_parent_already_in_salesforce_go_while_it_is_re_pushed(alice, connected, opportunity_factory):
    """A re-sync of linked records: the parent's push updates it by its Salesforce Id, which the
    child already has, so the child does not wait for it — unless the parent's link has no Id
    yet, belongs to another object, or was deleted in Salesforce."""
    from integrations.sync_settings import sync_settings_for
    from opportunities import services as opp
    from sync_engine.models import LinkStatus, SyncLink

    objects = sync_settings_for(connection=connected).objects
    opportunities = [opportunity_factory(alice.tenant) for _ in range(4)]
    analyses = {o.pk: opp.analysis_create(tenant=alice.tenant, opportunity=o, summary="Fit", key_findings="Strong fit").pk
                for o in opportunities}
    links = [("006000000000001AAA", objects.opportunity, LinkStatus.SYNCED),  # in Salesforce: its child goes
             ("", objects.opportunity, LinkStatus.PENDING),  # no Id yet: waits
             ("006000000000003AAA", "Other_Object__c", LinkStatus.SYNCED),  # another object's link: waits
             ("006000000000004AAA", objects.opportunity, LinkStatus.DELETED_IN_SALESFORCE)]  # may be re-created: waits
    for opportunity, (salesforce_id, sobject, status) in zip(opportunities, links):
        SyncLink.objects.create(tenant=alice.tenant, connection=connected, record_type=RecordType.OPPORTUNITY,
                                record_id=opportunity.pk, sobject=sobject, salesforce_id=salesforce_id, status=status)
    OutboxEntry.objects.all().delete()
    _queue(connected, RecordType.OPPORTUNITY, [o.pk for o in opportunities])
    _queue(connected, RecordType.ANALYSIS, sorted(analyses.values()))
    parents = queue.claim(connection_id=connected.pk, owner="lane:0", limit=200, sobject_of=objects.for_record_type)
    assert {e.record_id for e in parents} == {o.pk for o in opportunities}
    children = queue.claim(connection_id=connected.pk, owner="lane:1", limit=200, sobject_of=objects.for_record_type)
    assert [e.record_id for e in children] == [analyses[opportunities[0].pk]]
    assert queue.claim(connection_id=connected.pk, owner="lane:2", limit=200) == [], "without the objects: every child waits"


def test_a_type_without_a_named_parent_waits_for_every_earlier_type_in_flight(alice, connected):
    _queue(connected, RecordType.DEPARTMENT, range(1, 3))
    _queue(connected, RecordType.CONTACT, range(1, 5))
    departments = queue.claim(connection_id=connected.pk, owner="lane:0", limit=200)
    assert {e.record_type for e in departments} == {RecordType.DEPARTMENT}
    assert queue.claim(connection_id=connected.pk, owner="lane:1", limit=200) == []
    queue.finish(departments)
    assert len(queue.claim(connection_id=connected.pk, owner="lane:1", limit=200)) == 4


def test_two_lanes_claim_disjoint_batches_of_one_type(alice, connected):
    _queue(connected, RecordType.OPPORTUNITY, range(1, 401))
    a = queue.claim(connection_id=connected.pk, owner="lane:0", limit=200)
    b = queue.claim(connection_id=connected.pk, owner="lane:1", limit=200)
    assert len(a) == len(b) == 200 and not ({e.id for e in a} & {e.id for e in b})


def test_a_lane_that_found_its_parents_in_flight_is_woken_once_a_batch_lands(alice, connected, sent, monkeypatch):
    """The other lanes ended their turns with nothing claimable (children waiting for a parent
    batch in flight): the lane that lands a batch wakes them, not only a turn that starts."""
    import sync_engine.services as services

    _parallel(connected, alice, True)
    _queue(connected, RecordType.REQUIREMENT, range(1, 402))

    def one_batch(**kwargs):
        # Meanwhile the other lanes ran and ended: no wake-up of theirs is pending any more.
        wakeups.started(connected.pk, "default:1")
        wakeups.started(connected.pk, "default:2")
        wakeups.started(connected.pk, "default:3")
        sent.clear()
        kwargs["after_batch"]()
        return services.PushSummary(batches=1)

    monkeypatch.setattr(services, "push_connection", one_batch)
    push_and_reschedule(connection_id=connected.pk, max_priority=None)
    assert sorted(lane for _, lane in sent) == ["default:1", "default:2", "default:3"]


def test_a_record_type_is_claimed_in_the_fewest_batches_of_even_size(alice, connected):
    """1,500 records in 8 batches of 188/187 (not 7 × 200 + 100), so lanes pushing one run in
    parallel finish a record type together; never more calls than ceil(N / 200)."""
    from integrations.sync_settings import sync_settings_for
    from sync_engine.executor import BATCH_SIZE, _batch_plan

    data = sync_settings_for(connection=connected)
    _queue(connected, RecordType.ANALYSIS, range(1, 301))
    assert _batch_plan(connected, Priority.FULL, data) == (150, 0)
    OutboxEntry.objects.all().delete()
    _queue(connected, RecordType.OPPORTUNITY, range(1, 1501))
    sizes = []
    while True:
        limit, _ = _batch_plan(connected, Priority.FULL, data)
        batch = queue.claim(connection_id=connected.pk, owner="lane:0", limit=limit)
        if not batch:
            break
        sizes.append(len(batch))
    assert sizes == [188, 188, 188, 188, 187, 187, 187, 187]
    OutboxEntry.objects.all().delete()
    _queue(connected, RecordType.REQUIREMENT, range(1, 1801))
    assert _batch_plan(connected, Priority.FULL, data)[0] == BATCH_SIZE  # 9 full calls stay 9
    _queue(connected, RecordType.OPPORTUNITY, range(2001, 2003), priority=Priority.REALTIME)
    assert _batch_plan(connected, Priority.REALTIME, data)[0] == BATCH_SIZE  # real-time work is not planned this way


def test_with_parallel_sync_off_a_second_worker_waits_for_the_org_slot(alice, connected, opportunity_factory):
    """The per-org cap: off, one background request at a time — a second worker gets "busy"
    and claims nothing while the first holds the slot; on, it goes ahead."""
    from sync_engine.executor import push_connection
    from sync_engine.governor import get_governor

    from sync_engine.fanout import fan_out_pending

    opportunities = [opportunity_factory(alice.tenant) for _ in range(2)]
    fan_out_pending()
    OutboxEntry.objects.all().delete()  # only a background run's rows are queued
    _queue(connected, RecordType.OPPORTUNITY, [o.pk for o in opportunities])
    _parallel(connected, alice, False)
    governor = get_governor()
    held = governor.acquire(connected.pk, 1)  # the first worker's batch is in flight
    assert held
    summary = push_connection(connection_id=connected.pk, max_batches=1)
    assert summary.stopped_because == "busy" and summary.batches == 0
    assert not OutboxEntry.objects.exclude(state="pending").exists()
    _parallel(connected, alice, True)
    summary = push_connection(connection_id=connected.pk, max_batches=1)
    assert summary.batches == 1 and summary.stopped_because == ""
    governor.release(connected.pk, held)


def test_a_turn_reads_its_run_user_mapping_and_describe_once_not_every_batch(alice, connected, opportunity_factory, settings):
    """Per-batch overhead: every database round trip of a batch waits for the database to be
    scheduled, and two workers of one org make twice as many. A turn of four batches reads the
    run its rows belong to, the user mapping and the describe once; each batch settles its rows
    in one DELETE (no transaction around it) and advances the run in one UPDATE."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from sync_engine.executor import push_connection
    from sync_engine.fanout import fan_out_pending
    from sync_engine.models import ApiCallBucket, SyncRun
    from sync_engine.services import sync_now_start

    settings.COTHON_PUSH_BATCH_SIZE = 2
    opportunities = [opportunity_factory(alice.tenant) for _ in range(7)]
    fan_out_pending()
    OutboxEntry.objects.all().delete()  # the run alone
    run = sync_now_start(connection=connected, kind="full", actor=alice.admin, enqueue=False)
    assert run.total == len(opportunities)  # in batches of 2, 2, 2 and 1
    with CaptureQueriesContext(db) as queries:
        summary = push_connection(connection_id=connected.pk, max_batches=10)
    assert summary.batches == 4 and summary.succeeded == run.total, summary

    def selects(table: str) -> int:
        return sum(1 for q in queries.captured_queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"])

    assert selects("sync_engine_syncrun") == 1
    assert selects("integrations_salesforceuserlink") == 1
    assert selects("integrations_describecache") <= 2  # a miss: read, then fetched and stored (update_or_create)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('DELETE FROM "sync_engine_outboxentry"')]
    assert len(deletes) == 4
    run_updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "sync_engine_syncrun"')]
    assert len(run_updates) == 4, run_updates
    run.refresh_from_db()
    assert run.status == "running" and run.started_at is not None
    assert run.processed == run.succeeded == run.total and run.api_calls == summary.api_calls > 0
    assert SyncRun.objects.get(pk=run.pk).api_calls == run.api_calls
    # The hour's bucket adds up across batches (one upsert each, counted in the database).
    assert sum(ApiCallBucket.objects.filter(connection=connected, kind="full").values_list("calls", flat=True)) == summary.api_calls
