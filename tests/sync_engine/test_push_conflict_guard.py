"""The push's conflict guard against the emulator (sync_engine/push/conflict_guard.py): a field
Salesforce changed after Cothon's edit and before its push is not overwritten when its rule
keeps Salesforce's value — last write wins included, by each field's own Cothon time — and the
later value wins on both sides; whole-record pushes are guarded too; one query a batch, none
when no pushed field could be in conflict."""

from __future__ import annotations

import datetime

import pytest

from integrations.mapping.conflicts import parse_time
from opportunities import services as opp
from opportunities.models import Opportunity
from sync_engine.executor import push_connection
from sync_engine.handlers import opportunity as handler
from sync_engine.models import SyncConflict, SyncLink, SyncLog
from sync_engine.pull.incremental import pull_incremental
from sync_engine.services import record_sync_now
from tests.pull.conftest import save_settings
from tests.pull.test_conflicts_e2e import _linked, _rules


@pytest.fixture
def sf(emulator_reset):
    """The emulator's org through simple-salesforce (as a sales rep edits it)."""
    return emulator_reset.sf()


@pytest.fixture
def guard_reads(monkeypatch):
    """Each batch's guard: the fields it checked and whether it asked Salesforce."""
    seen: list[bool] = []
    real = handler.guard_items

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        seen.append(result.queried)
        return result
    monkeypatch.setattr(handler, "guard_items", spy)
    return seen


def _edit_then_salesforce(alice, sf, opportunity, link, cothon: dict, salesforce: dict, *, salesforce_later: bool,
                          author=None) -> None:
    """Cothon edits (queued, not pushed), Salesforce edits; Cothon's edit time is set 5 minutes
    before or after Salesforce's LastModifiedDate (the emulator stamps its edit now)."""
    current = Opportunity.objects.get(pk=opportunity.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=current, data=cothon, changed_by=author)
    sf.Opportunity.update(link.salesforce_id, salesforce)
    stamp = parse_time(sf.Opportunity.get(link.salesforce_id)["LastModifiedDate"])
    when = stamp + datetime.timedelta(minutes=-5 if salesforce_later else 5)
    current.refresh_from_db()
    Opportunity.objects.filter(pk=opportunity.pk).update(
        field_changed_at={**current.field_changed_at, **{name: when.isoformat() for name in cothon}})


def test_a_last_write_wins_field_salesforce_changed_after_the_cothon_edit_is_kept_and_pulled(alice, connected, sf,
                                                                                             opportunity_factory, guard_reads):
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    guard_reads.clear()
    _edit_then_salesforce(alice, sf, opportunity, link, {"description": "Ours", "location": "Yukon"},
                          {"Description": "Theirs"}, salesforce_later=True)
    assert push_connection(connection_id=connected.pk).failed == 0
    record = sf.Opportunity.get(link.salesforce_id)
    assert record["Description"] == "Theirs" and record["Cothon_Location__c"] == "Yukon"  # the rest went out
    opportunity.refresh_from_db()
    assert opportunity.description == "Theirs"  # the later write wins both sides, without waiting for a pull
    assert guard_reads == [True] and not SyncConflict.objects.exists()
    assert SyncLink.objects.get(pk=link.pk).base_snapshot["Description"] == "Theirs"
    again = pull_incremental(connection_id=connected.pk)  # the next pull has nothing left to settle
    assert again.summary.conflicts_settled == 0 and again.summary.conflicts_held == 0


def test_a_last_write_wins_field_salesforce_changed_before_the_cothon_edit_is_overwritten(alice, connected, sf,
                                                                                         opportunity_factory, guard_reads):
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    guard_reads.clear()
    _edit_then_salesforce(alice, sf, opportunity, link, {"description": "Ours"}, {"Description": "Theirs"},
                          salesforce_later=False)
    assert push_connection(connection_id=connected.pk).failed == 0
    assert sf.Opportunity.get(link.salesforce_id)["Description"] == "Ours"
    opportunity.refresh_from_db()
    assert opportunity.description == "Ours" and guard_reads == [True]


@pytest.mark.parametrize("salesforce_later, expected_stage, expected_status", [
    (True, "Negotiation", "submitted"), (False, "Proposal", "pursuing")])
def test_stage_compares_the_status_fields_own_time(alice, connected, sf, opportunity_factory, salesforce_later,
                                                   expected_stage, expected_status):
    opportunity = opportunity_factory(alice.tenant, status="identified")
    link = _linked(connected, opportunity)
    _edit_then_salesforce(alice, sf, opportunity, link, {"status": "pursuing"}, {"StageName": "Negotiation"},
                          salesforce_later=salesforce_later)
    assert push_connection(connection_id=connected.pk).failed == 0
    opportunity.refresh_from_db()
    assert sf.Opportunity.get(link.salesforce_id)["StageName"] == expected_stage and opportunity.status == expected_status


def test_with_review_on_the_push_holds_the_conflict_with_cothons_author(alice, connected, sf, opportunity_factory):
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    _edit_then_salesforce(alice, sf, opportunity, link, {"description": "Ours"}, {"Description": "Theirs"},
                          salesforce_later=False, author=alice.member)
    assert push_connection(connection_id=connected.pk).failed == 0
    opportunity.refresh_from_db()
    assert sf.Opportunity.get(link.salesforce_id)["Description"] == "Theirs" and opportunity.description == "Ours"
    conflict = SyncConflict.objects.get()  # held at the push, before any pull
    assert (conflict.cothon_value, conflict.salesforce_value, conflict.cothon_changed_by) == ("Ours", "Theirs", alice.member)


def test_with_review_on_a_cothon_wins_field_changed_on_both_sides_is_held_not_sent(alice, connected, sf,
                                                                                   opportunity_factory, guard_reads):
    """Review on: no rule decides, "Cothon wins" included — the push reads the field and holds it."""
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, location="Ontario")
    link = _linked(connected, opportunity)
    guard_reads.clear()
    _edit_then_salesforce(alice, sf, opportunity, link, {"location": "Yukon", "description": "Only ours"},
                          {"Cothon_Location__c": "Halifax"}, salesforce_later=False, author=alice.member)
    assert push_connection(connection_id=connected.pk).failed == 0
    record = sf.Opportunity.get(link.salesforce_id)
    assert record["Cothon_Location__c"] == "Halifax" and record["Description"] == "Only ours"  # the rest went out
    opportunity.refresh_from_db()
    assert opportunity.location == "Yukon" and guard_reads == [True]
    conflict = SyncConflict.objects.get()
    assert (conflict.sf_field, conflict.cothon_value, conflict.salesforce_value) == ("Cothon_Location__c", "Yukon", "Halifax")


def test_with_review_off_a_cothon_wins_field_changed_on_both_sides_is_sent_without_a_read(alice, connected, sf,
                                                                                         opportunity_factory, guard_reads):
    opportunity = opportunity_factory(alice.tenant, location="Ontario")
    link = _linked(connected, opportunity)
    guard_reads.clear()
    _edit_then_salesforce(alice, sf, opportunity, link, {"location": "Yukon"}, {"Cothon_Location__c": "Halifax"},
                          salesforce_later=True)
    assert push_connection(connection_id=connected.pk).failed == 0
    assert sf.Opportunity.get(link.salesforce_id)["Cothon_Location__c"] == "Yukon"
    assert guard_reads == [False] and not SyncConflict.objects.exists()


def test_a_whole_record_push_does_not_overwrite_a_field_salesforce_changed(alice, connected, sf, opportunity_factory,
                                                                           guard_reads):
    """Sync Now of a linked record: a field Cothon did not change since the base (even a "Cothon
    wins" one) and a "Salesforce wins" field both keep Salesforce's change."""
    _rules(connected, Description="salesforce_wins")
    opportunity = opportunity_factory(alice.tenant, description="Agreed", location="Ontario")
    link = _linked(connected, opportunity)
    guard_reads.clear()
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs", "CloseDate": "2031-01-31"})
    Opportunity.objects.filter(pk=opportunity.pk).update(location="Yukon")  # a Cothon value the full push must carry
    record_sync_now(connection=connected, record_type="opportunity", record_id=opportunity.pk, actor=alice.admin)
    assert push_connection(connection_id=connected.pk).failed == 0
    record = sf.Opportunity.get(link.salesforce_id)
    assert (record["Description"], record["CloseDate"], record["Cothon_Location__c"]) == ("Theirs", "2031-01-31", "Yukon")
    opportunity.refresh_from_db()
    assert opportunity.description == "Theirs" and opportunity.closing_date == datetime.date(2031, 1, 31)
    assert guard_reads == [True]


def test_a_new_record_is_not_guarded(alice, connected, sf, opportunity_factory, guard_reads):
    opportunity_factory(alice.tenant)
    assert push_connection(connection_id=connected.pk).failed == 0
    assert guard_reads == [False]


def test_only_cothon_wins_fields_changed_costs_no_query(alice, connected, sf, opportunity_factory, guard_reads):
    opportunity = opportunity_factory(alice.tenant)
    _linked(connected, opportunity)
    guard_reads.clear()
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                           data={"closing_date": datetime.date(2032, 2, 2)})
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and guard_reads == [False] and summary.api_calls == 1  # the write alone


def test_a_batch_of_edits_is_checked_with_one_query(alice, connected, sf, opportunity_factory, guard_reads):
    opportunities = [opportunity_factory(alice.tenant, description=f"Agreed {n}") for n in range(5)]
    for opportunity in opportunities:
        _linked(connected, opportunity)
    guard_reads.clear()
    for opportunity in opportunities:
        opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                               data={"description": f"Ours {opportunity.pk}"})
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and guard_reads == [True]
    assert summary.api_calls == 2  # the guard's query and one collection write
    assert not SyncLog.objects.filter(result="failed").exists()


def test_a_batch_larger_than_an_id_list_reads_what_changed_since_the_pull_in_one_query(alice, connected, sf, opportunity_factory,
                                                                                       guard_reads, monkeypatch):
    from sync_engine.push import conflict_guard

    monkeypatch.setattr(conflict_guard, "CHUNK", 2)  # 5 records: three id lists, or one query since the pull
    opportunities = [opportunity_factory(alice.tenant, description=f"Agreed {n}") for n in range(5)]
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)  # the base agreed, and the pull's watermark
    links = {link.record_id: link for link in SyncLink.objects.filter(record_type="opportunity")}
    guard_reads.clear()
    first = opportunities[0]
    _edit_then_salesforce(alice, sf, first, links[first.pk], {"description": "Ours 0"}, {"Description": "Theirs 0"},
                          salesforce_later=True)
    for opportunity in opportunities[1:]:
        opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                               data={"description": f"Ours {opportunity.pk}"})
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and guard_reads == [True]
    assert summary.api_calls == 2  # one guard query (not three), one collection write
    assert sf.Opportunity.get(links[first.pk].salesforce_id)["Description"] == "Theirs 0"
    last = opportunities[-1]
    assert sf.Opportunity.get(links[last.pk].salesforce_id)["Description"] == f"Ours {last.pk}"
