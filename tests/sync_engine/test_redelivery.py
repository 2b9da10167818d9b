"""A change pushed again after its first attempt may have landed (a worker killed mid-batch, its
claimed rows handed back by the sweeper) must not overwrite a Salesforce edit made in between:
the retry reads the fields whose rule is not "Cothon wins" first, and the pull settles them.
Found by the convergence property test (test_convergence.py)."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.utils import timezone

from opportunities import services as opp
from opportunities.models import Opportunity
from sync_engine import claim as queue
from sync_engine.executor import push_connection
from sync_engine.fanout import fan_out_pending
from sync_engine.models import OutboxEntry, OutboxState, SyncLink
from sync_engine.pull.incremental import pull_incremental


class WorkerKilled(BaseException):
    """A worker process dying: no `except Exception` of the product catches it."""


def _linked(alice, connected, opportunity_factory) -> tuple[Opportunity, SyncLink]:
    opportunity = opportunity_factory(alice.tenant, status="identified", description="Agreed")
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)  # our push coming back: the base is agreed
    return opportunity, SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)


def _push_killed(connected, where: str) -> None:
    with mock.patch(where, side_effect=WorkerKilled()), pytest.raises(WorkerKilled):
        push_connection(connection_id=connected.pk)
    assert OutboxEntry.objects.filter(state=OutboxState.CLAIMED).exists()
    OutboxEntry.objects.filter(state=OutboxState.CLAIMED).update(lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert queue.reclaim_expired() == 1


@pytest.mark.parametrize("killed", ["sync_engine.executor._settle_outcomes", "sync_engine.push.writer.settle"],
                         ids=["before-its-row-is-settled", "before-its-link-is-written"])
def test_a_change_redelivered_after_its_worker_died_keeps_a_later_salesforce_edit(alice, connected, emulator_reset,
                                                                                  opportunity_factory, killed):
    opportunity, link = _linked(alice, connected, opportunity_factory)
    sf = emulator_reset.sf()
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"status": "pursuing", "location": "Yukon"})
    _push_killed(connected, killed)  # the write landed; the worker died before recording it all
    assert sf.Opportunity.get(link.salesforce_id)["StageName"] == "Proposal"
    sf.Opportunity.update(link.salesforce_id, {"StageName": "Qualification"})  # a rep, after Cothon's edit landed
    assert push_connection(connection_id=connected.pk).failed == 0
    record = sf.Opportunity.get(link.salesforce_id)
    assert record["StageName"] == "Qualification" and record["Cothon_Location__c"] == "Yukon"
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.status == "analyzing"  # the rep's later edit wins, on both sides
    assert not OutboxEntry.objects.exists()


def test_the_sweeper_counts_a_dead_workers_attempt(alice, connected, opportunity_factory):
    opportunity_factory(alice.tenant)
    fan_out_pending()
    assert queue.claim(connection_id=connected.pk, owner="dead:1", limit=10)
    OutboxEntry.objects.update(lease_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert queue.reclaim_expired() == 1
    row = OutboxEntry.objects.get()
    assert (row.state, row.attempts) == (OutboxState.PENDING, 1) and row.available_at <= timezone.now()


def test_a_cothon_value_that_won_a_conflict_on_the_pull_goes_out_also_when_its_row_is_a_retry(alice, connected, emulator_reset,
                                                                                               opportunity_factory):
    """Found by the convergence test: the push-back of a conflict the pull settled for Cothon
    merges into a row retried after a dropped connection; the retry reads the field first and
    must not hold Cothon's value back (the pull has seen Salesforce's and decided)."""
    opportunity, link = _linked(alice, connected, opportunity_factory)
    sf = emulator_reset.sf()
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                           data={"description": "Ours"})  # later than Salesforce's: last write wins keeps it
    emulator_reset.client.add_fault(org="demo", path_contains="/services/data/", drop_connection=True, count=1)
    push_connection(connection_id=connected.pk)
    emulator_reset.client.clear_faults()
    assert OutboxEntry.objects.get().attempts == 1 and sf.Opportunity.get(link.salesforce_id)["Description"] == "Theirs"
    assert pull_incremental(connection_id=connected.pk).summary.conflicts_settled == 1
    OutboxEntry.objects.update(available_at=timezone.now())
    assert push_connection(connection_id=connected.pk).failed == 0
    assert sf.Opportunity.get(link.salesforce_id)["Description"] == "Ours"
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.description == "Ours" and not OutboxEntry.objects.exists()


# --- the write in flight (sync_engine/attempts.py) ----------------------------------------------

def test_each_write_to_a_linked_record_is_marked_in_one_statement_and_cleared_with_its_result(alice, connected, emulator_reset,
                                                                                            opportunity_factory):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    opportunities = [opportunity_factory(alice.tenant, title=f"Deal {n}") for n in range(3)]
    assert push_connection(connection_id=connected.pk).failed == 0
    for opportunity in opportunities:
        opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"location": "Yukon"})
    with CaptureQueriesContext(db) as queries:
        assert push_connection(connection_id=connected.pk).succeeded == 3
    marks = [q["sql"] for q in queries.captured_queries
             if q["sql"].startswith('UPDATE "sync_engine_synclink"') and "inflight_values" in q["sql"]]
    assert len(marks) == 1  # one statement for the batch, before the call
    links = SyncLink.objects.filter(connection=connected, record_type="opportunity")
    assert [link.inflight_values for link in links] == [None] * 3 and {link.inflight_token for link in links} == {""}
    rows = emulator_reset.sf().query_all("SELECT Cothon_Location__c, Cothon_Push_Token__c FROM Opportunity "
                                         "WHERE Cothon_Ref__c != null")["records"]
    assert {row["Cothon_Location__c"] for row in rows} == {"Yukon"}
    tokens = {row["Cothon_Push_Token__c"] for row in rows}
    assert len(tokens) == 1 and len(tokens.pop()) == 16  # the batch's token, carried by every write


def test_a_write_whose_worker_died_before_it_reached_salesforce_leaves_a_change_on_both_sides_a_conflict(
        alice, connected, emulator_reset, opportunity_factory):
    """The mark alone does not say the write landed: Salesforce's token does. A write that never
    got there keeps the base, so a Salesforce edit of the same field is a change on both sides,
    settled by the rule (location: Cothon wins)."""
    opportunity, link = _linked(alice, connected, opportunity_factory)
    sf = emulator_reset.sf()
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"location": "Yukon"})
    _push_killed(connected, "sync_engine.push.writer._apply")  # marked, then killed before the call
    link.refresh_from_db()
    assert link.inflight_values == {"Cothon_Location__c": "Yukon"} and link.inflight_token
    assert sf.Opportunity.get(link.salesforce_id)["Cothon_Location__c"] != "Yukon"
    sf.Opportunity.update(link.salesforce_id, {"Cothon_Location__c": "Halifax"})
    assert push_connection(connection_id=connected.pk).failed == 0
    assert sf.Opportunity.get(link.salesforce_id)["Cothon_Location__c"] == "Yukon"  # Cothon wins the real conflict
    link.refresh_from_db()
    assert link.inflight_values is None and link.base_snapshot["Cothon_Location__c"] == "Yukon"


def test_a_write_whose_worker_died_after_it_landed_moves_the_base_on_the_next_pull(alice, connected, emulator_reset,
                                                                                   opportunity_factory):
    opportunity, link = _linked(alice, connected, opportunity_factory)
    sf = emulator_reset.sf()
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"location": "Yukon"})
    _push_killed(connected, "sync_engine.push.writer.settle")
    sf.Opportunity.update(link.salesforce_id, {"Cothon_Location__c": "Halifax"})  # a rep, after Cothon's write landed
    summary = pull_incremental(connection_id=connected.pk).summary
    assert (summary.applied, summary.conflicts_settled, summary.conflicts_held) == (1, 0, 0)
    opportunity.refresh_from_db()
    link.refresh_from_db()
    assert opportunity.location == "Halifax" and link.inflight_values is None
    assert link.base_snapshot["Cothon_Location__c"] == "Halifax"
    assert "Cothon_Push_Token__c" not in (opportunity.salesforce_extra.get(str(connected.pk)) or {}).get("fields", {})
    OutboxEntry.objects.update(available_at=timezone.now())
    assert push_connection(connection_id=connected.pk).failed == 0  # the retried row: nothing left to send
    assert sf.Opportunity.get(link.salesforce_id)["Cothon_Location__c"] == "Halifax"


def test_without_a_token_only_the_fields_salesforce_holds_as_sent_join_the_base():
    """An org without Cothon_Push_Token__c (or an Outbound Message, which does not carry it): a
    field Salesforce holds exactly as sent is agreed either way; one it holds otherwise keeps
    its base (a change on both sides, as before the mark existed)."""
    from sync_engine.attempts import attempt_settle

    link = SyncLink(base_snapshot={"Name": "Old", "Cothon_Location__c": "Ottawa"}, pushed_hash="before",
                    inflight_values={"Name": "New", "Cothon_Location__c": "Yukon"}, inflight_token="")
    assert attempt_settle(link, {"Name": "New", "Cothon_Location__c": "Halifax"})
    assert link.base_snapshot == {"Name": "New", "Cothon_Location__c": "Ottawa"} and link.pushed_hash == "before"
    assert (link.inflight_values, link.inflight_token, link.inflight_at) == (None, "", None)

    waiting = SyncLink(base_snapshot={"Name": "Old", "Amount": 1.0}, inflight_values={"Name": "New", "Amount": 2.0},
                       inflight_token="abc")
    assert not attempt_settle(waiting, {"Name": "Old", "Cothon_Push_Token__c": "other"})  # not landed (yet): kept
    assert waiting.inflight_values == {"Name": "New", "Amount": 2.0} and waiting.base_snapshot == {"Name": "Old", "Amount": 1.0}
    # A read without the token (an Outbound Message): what Salesforce holds as sent is agreed; the mark waits.
    assert attempt_settle(waiting, {"Name": "Newer", "Amount": 2})
    assert waiting.base_snapshot == {"Name": "Old", "Amount": 2.0} and waiting.inflight_token == "abc"
    assert not attempt_settle(waiting, {"Name": "Newer", "Amount": 2})  # nothing new: nothing to save
    assert attempt_settle(waiting, {"Name": "Newer", "Cothon_Push_Token__c": "abc"})  # landed, then changed there
    assert waiting.base_snapshot == {"Name": "New", "Amount": 2.0} and waiting.inflight_values is None
