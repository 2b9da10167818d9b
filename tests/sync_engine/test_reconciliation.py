"""Reconciliation end to end against the emulator: what the incremental pull and the outbox
missed is caught on both sides, by the same rules, once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.mapping.conflicts import parse_time
from opportunities import services as opp
from opportunities.models import Opportunity
from sync_engine import wakeups
from sync_engine.executor import push_connection
from sync_engine.fanout import fan_out_pending
from sync_engine.governor import get_governor
from sync_engine.models import (ChangeRecord, LinkStatus, OutboxEntry, Priority, SyncConflict, SyncLink, SyncLog, SyncRun,
                                SyncRunKind, SyncRunStatus)
from sync_engine.pull.incremental import pull_incremental
from sync_engine.pull.models import PullWatermark
from sync_engine.reconcile.schedule import scheduled_reconciliations
from sync_engine.reconcile.service import reconciliation_execute, reconciliation_request
from tests.pull.conftest import save_settings


@pytest.fixture
def sent(monkeypatch) -> list:
    """Tasks sent by name (the broker is not needed: the tests run the service themselves)."""
    calls: list = []
    monkeypatch.setattr(wakeups, "send_named", lambda name, *, args, queue: calls.append((name, args, queue)))
    return calls


@pytest.fixture
def sf(emulator_reset):
    return emulator_reset.sf()


def full_sync_done(connection) -> None:
    SyncRun.objects.create(tenant_id=connection.tenant_id, connection=connection, kind=SyncRunKind.FULL,
                           status=SyncRunStatus.SUCCEEDED, finished_at=timezone.now())


def linked(connected, opportunity) -> SyncLink:
    """Pushed, and our push come back through one incremental cycle: both sides agree."""
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)
    return SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)


def incremental_moved_past(connected) -> None:
    """The incremental's watermark is past the change (a record committed late, a stamp the
    overlap window no longer reaches): its next cycle reads nothing."""
    later = timezone.now() + datetime.timedelta(minutes=5)
    PullWatermark.objects.filter(connection=connected).update(watermark=later, queried_at=later + datetime.timedelta(minutes=5))


def lose_outbox(alice) -> None:
    """The Cothon change's outbox row is lost (say, a restore of the queue tables)."""
    ChangeRecord.objects.filter(tenant_id=alice.tenant.pk).delete()
    OutboxEntry.objects.all().delete()


def reconcile(connected, sent) -> SyncRun:
    run = reconciliation_request(connection=connected)
    # The request sends its task on commit; the tests run inside one transaction: run it here.
    return reconciliation_execute(run_id=run.pk)


def test_a_salesforce_change_the_incremental_missed_is_applied_and_the_watermark_stays(alice, connected, sf, sent,
                                                                                       opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    link = linked(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    incremental_moved_past(connected)
    assert pull_incremental(connection_id=connected.pk).summary.applied == 0
    watermark = PullWatermark.objects.get(connection=connected, sobject="Opportunity").watermark

    run = reconcile(connected, sent)

    opportunity.refresh_from_db()
    assert opportunity.description == "Theirs"
    assert run.status == SyncRunStatus.SUCCEEDED and run.counts["applied"] == 1 and run.counts["requeued"] == 0
    assert run.api_calls >= 1 and "1 applied" in run.message
    log = SyncLog.objects.get(run=run)  # the run's own row in the sync logs
    assert (log.operation, log.result, log.error_message, log.api_calls) == ("reconcile", "success", run.message, run.api_calls)
    assert PullWatermark.objects.get(connection=connected, sobject="Opportunity").watermark == watermark
    assert not OutboxEntry.objects.filter(record_id=opportunity.pk).exists()  # never sent back to its own org


def test_a_cothon_change_whose_outbox_row_was_lost_is_requeued_and_pushed(alice, connected, sf, sent, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = linked(connected, opportunity)
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk), data={"description": "Edited in Cothon"})
    lose_outbox(alice)

    run = reconcile(connected, sent)

    entry = OutboxEntry.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)
    assert (entry.priority, entry.event, entry.changed_fields) == (Priority.RECONCILIATION, "updated", ["description"])
    assert run.counts["requeued"] == 1 and run.counts["cothon"]["by_type"] == {"opportunity": 1}
    assert push_connection(connection_id=connected.pk).failed == 0
    assert sf.Opportunity.get(link.salesforce_id)["Description"] == "Edited in Cothon"


def test_a_second_run_writes_nothing_and_requeues_nothing(alice, connected, sf, sent, opportunity_factory, department_factory):
    department = department_factory(alice.tenant, "Public Works")
    opportunity = opportunity_factory(alice.tenant, department=department, description="Ours")
    link = linked(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk), data={"title": "Renamed in Cothon"})
    lose_outbox(alice)
    incremental_moved_past(connected)
    first = reconcile(connected, sent)
    assert first.counts["applied"] == 1 and first.counts["requeued"] == 1
    assert push_connection(connection_id=connected.pk).failed == 0
    logs = SyncLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    second = reconcile(connected, sent)

    assert second.counts["applied"] == 0 and second.counts["requeued"] == 0, second.counts
    assert second.counts["examined"] >= 2  # the same window: the records were looked at again
    assert not OutboxEntry.objects.exists()
    assert not SyncLog.objects.filter(pk__gt=logs, direction="pull", operation="update").exists()
    opportunity.refresh_from_db()
    remote = sf.Opportunity.get(link.salesforce_id)
    assert (opportunity.title, opportunity.description) == ("Renamed in Cothon", "Theirs")
    assert (remote["Name"], remote["Description"]) == ("Renamed in Cothon", "Theirs")


def test_after_a_full_sync_and_its_pull_nothing_is_out_of_step(alice, connected, sent, opportunity_factory, department_factory):
    department = department_factory(alice.tenant, "Fisheries")
    opportunities = [opportunity_factory(alice.tenant, department=department, description=f"Record {n}", assignee=alice.admin)
                     for n in range(3)]
    analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunities[0])
    opp.requirement_add(tenant=alice.tenant, analysis=analysis, text="Security clearance", kind="mandatory")
    opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=80)
    opp.comment_create(tenant=alice.tenant, opportunity=opportunities[1], author=alice.admin, body="Called the buyer.")
    fan_out_pending()
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)  # Salesforce's defaults (Probability by stage) come back
    run = reconcile(connected, sent)
    assert run.counts["requeued"] == 0 and run.counts["applied"] == 0, run.counts
    # The department, three opportunities, the analysis, its requirement and the comment.
    assert run.counts["cothon"]["examined"] == 7, run.counts


def test_a_comment_and_a_requirement_whose_outbox_rows_were_lost_are_requeued(alice, connected, sent, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity)
    requirement = opp.requirement_add(tenant=alice.tenant, analysis=analysis, text="Security clearance", kind="mandatory")
    opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=80)
    fan_out_pending()
    assert push_connection(connection_id=connected.pk).failed == 0
    comment = opp.comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.admin, body="Called the buyer.")
    requirement.text = "Security clearance (Secret)"
    requirement.save()
    lose_outbox(alice)

    run = reconcile(connected, sent)

    assert run.counts["cothon"]["by_type"] == {"comment": 1, "requirement": 1}, run.counts
    assert {(e.record_type, e.record_id) for e in OutboxEntry.objects.all()} == {("comment", comment.pk),
                                                                                ("requirement", requirement.pk)}
    assert push_connection(connection_id=connected.pk).failed == 0
    assert reconcile(connected, sent).counts["requeued"] == 0


def test_cothon_wins_keeps_cothons_amount_when_the_reconciliation_finds_both_changed(alice, connected, sf, sent,
                                                                                     opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, value_min=Decimal("100000"), value_max=None)
    link = linked(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Amount": 150000})
    stamp = parse_time(sf.Opportunity.get(link.salesforce_id)["LastModifiedDate"])
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk), data={"value_min": Decimal("120000")})
    Opportunity.objects.filter(pk=opportunity.pk).update(
        field_changed_at={**opportunity.field_changed_at, "value_min": (stamp - datetime.timedelta(minutes=5)).isoformat()})
    lose_outbox(alice)
    incremental_moved_past(connected)

    run = reconcile(connected, sent)

    opportunity.refresh_from_db()
    assert opportunity.value_min == Decimal("120000")
    assert run.counts["salesforce"]["conflicts_settled"] == 1
    fan_out_pending()
    assert push_connection(connection_id=connected.pk).failed == 0
    assert sf.Opportunity.get(link.salesforce_id)["Amount"] == 120000


def test_with_review_on_the_conflict_is_held_and_neither_side_changes(alice, connected, sf, sent, opportunity_factory):
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = linked(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk), data={"description": "Ours"})
    lose_outbox(alice)
    incremental_moved_past(connected)

    run = reconcile(connected, sent)

    assert run.counts["salesforce"]["conflicts_held"] == 1
    conflict = SyncConflict.objects.get()
    assert (conflict.cothon_value, conflict.salesforce_value) == ("Ours", "Theirs")
    # The Cothon side re-queues the record; the push leaves the held field alone.
    assert push_connection(connection_id=connected.pk).failed == 0
    opportunity.refresh_from_db()
    assert opportunity.description == "Ours" and sf.Opportunity.get(link.salesforce_id)["Description"] == "Theirs"
    assert reconcile(connected, sent).counts["requeued"] == 0


def test_a_record_deleted_in_salesforce_is_marked_and_stays_in_cothon(alice, connected, sf, sent, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    link = linked(connected, opportunity)
    sf.Opportunity.delete(link.salesforce_id)
    incremental_moved_past(connected)

    run = reconcile(connected, sent)

    link.refresh_from_db()
    assert link.status == LinkStatus.DELETED_IN_SALESFORCE and Opportunity.objects.filter(pk=opportunity.pk).exists()
    assert run.counts["salesforce"]["deleted"] == 1
    # Edited afterwards: the reconciliation leaves it to a person (re-link, re-create or skip).
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk), data={"description": "x"})
    lose_outbox(alice)
    assert reconcile(connected, sent).counts["requeued"] == 0


def test_skipped_records_are_left_alone_on_both_sides(alice, connected, sf, sent, opportunity_factory):
    from sync_engine.partner_actions import opportunity_skip

    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = linked(connected, opportunity)
    opportunity_skip(connection=connected, opportunity=opportunity, actor=alice.admin)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                           data={"title": "Renamed in Cothon"})
    lose_outbox(alice)
    incremental_moved_past(connected)

    run = reconcile(connected, sent)

    opportunity.refresh_from_db()
    assert opportunity.description == "Agreed" and not OutboxEntry.objects.exists()
    assert run.counts["requeued"] == 0 and run.counts["cothon"]["left_alone"] == 1
    assert SyncLink.objects.get(pk=link.pk).status == LinkStatus.SKIPPED


def test_a_record_already_pending_in_the_outbox_is_not_queued_again(alice, connected, sent, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    linked(connected, opportunity)
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk), data={"description": "Edited"})
    fan_out_pending()
    entry = OutboxEntry.objects.get(record_id=opportunity.pk)
    run = reconcile(connected, sent)
    assert run.counts["requeued"] == 0 and run.counts["cothon"]["waiting"] == 1
    assert OutboxEntry.objects.get(record_id=opportunity.pk).priority == entry.priority


def test_when_the_governor_refuses_the_run_is_deferred_without_a_call(alice, connected, sent, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    linked(connected, opportunity)
    get_governor().pause(connected.pk, 600)
    run = reconcile(connected, sent)
    assert run.status == SyncRunStatus.DEFERRED and run.api_calls == 0 and run.message.startswith("Deferred")
    assert SyncLog.objects.get(run=run).result == "paused"
    get_governor().resume(connected.pk)
    # The next completed run reaches back over the deferred one (nothing lost).
    assert reconcile(connected, sent).status == SyncRunStatus.SUCCEEDED


def test_a_deferred_hour_widens_the_next_window_back_to_the_last_completed_run(connected, sent):
    from integrations.sync_settings import sync_settings_for
    from sync_engine.reconcile.window import MARGIN, window_start

    config = sync_settings_for(connection=connected)
    now = timezone.now()
    assert window_start(connection=connected, config=config, now=now) == now - datetime.timedelta(minutes=60) - MARGIN
    three_hours_ago = now - datetime.timedelta(hours=3)
    SyncRun.objects.create(tenant_id=connected.tenant_id, connection=connected, kind=SyncRunKind.RECONCILIATION,
                           status=SyncRunStatus.SUCCEEDED, started_at=three_hours_ago)
    SyncRun.objects.create(tenant_id=connected.tenant_id, connection=connected, kind=SyncRunKind.RECONCILIATION,
                           status=SyncRunStatus.DEFERRED, started_at=now - datetime.timedelta(hours=1))
    assert window_start(connection=connected, config=config, now=now) == three_hours_ago - MARGIN
    # At least twice the incremental interval.
    save_settings(connected, frequencies={"incremental_minutes": 45, "reconciliation_minutes": 60, "daily_full_at": "02:00"})
    SyncRun.objects.filter(connection=connected).delete()
    config = sync_settings_for(connection=connected)
    assert window_start(connection=connected, config=config, now=now) == now - datetime.timedelta(minutes=90) - MARGIN


# --- the schedule ------------------------------------------------------------------------------

def test_the_schedule_waits_for_the_first_full_sync_then_queues_once_per_interval(connected, sent):
    now = timezone.now()
    assert scheduled_reconciliations(now=now) == []
    full_sync_done(connected)
    first = scheduled_reconciliations(now=now)
    assert [r.connection_id for r in first] == [connected.pk] and first[0].status == SyncRunStatus.QUEUED
    # Queued and not run yet (a slow queue): nothing more, however many minutes pass.
    assert scheduled_reconciliations(now=now + datetime.timedelta(minutes=61)) == []
    reconciliation_execute(run_id=first[0].pk)
    assert scheduled_reconciliations(now=now + datetime.timedelta(minutes=59)) == []
    assert len(scheduled_reconciliations(now=now + datetime.timedelta(minutes=60))) == 1


def test_the_interval_follows_the_setting_and_a_lost_run_is_replaced(connected, sent):
    save_settings(connected, frequencies={"incremental_minutes": 15, "reconciliation_minutes": 30, "daily_full_at": "02:00"})
    full_sync_done(connected)
    now = timezone.now()
    lost = scheduled_reconciliations(now=now)[0]
    SyncRun.objects.filter(pk=lost.pk).update(created_at=now - datetime.timedelta(minutes=61))
    again = scheduled_reconciliations(now=now)
    assert len(again) == 1
    lost.refresh_from_db()
    assert lost.status == SyncRunStatus.FAILED and "Never finished" in lost.message


def test_disconnected_connections_are_not_reconciled(connected, sent):
    full_sync_done(connected)
    connected.status = "disconnected"
    connected.save()
    assert scheduled_reconciliations() == []


def test_the_task_is_sent_on_commit_to_the_background_queue(connected, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = reconciliation_request(connection=connected)
    assert sent == [("sync_engine.reconciliation_run", [run.pk], "default")]


def test_an_account_rename_the_incremental_missed_renames_the_department_in_one_composite_call(
        alice, connected, sf, sent, department_factory, opportunity_factory):
    from opportunities.models import Department

    department = department_factory(alice.tenant, "Health Canada")
    opportunity_factory(alice.tenant, department=department)
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)
    link = SyncLink.objects.get(connection=connected, record_type="department", record_id=department.pk)
    sf.Account.update(link.salesforce_id, {"Name": "Health Canada (HC)"})
    incremental_moved_past(connected)
    assert pull_incremental(connection_id=connected.pk).accounts.applied == 0

    run = reconcile(connected, sent)

    assert Department.objects.get(pk=department.pk).name == "Health Canada (HC)"
    assert run.counts["salesforce"]["applied"] == 1 and run.api_calls == 1, run.counts  # both objects' pages: one call
    assert not OutboxEntry.objects.exists()  # changed in Salesforce: never sent back
