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
