"""Conflicts end to end against the emulator: a field changed in Cothon and in Salesforce
since the last sync, then a pull (and the push it queues), with each rule, review on and off."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from integrations.mapping.conflicts import parse_time
from integrations.sync_settings import settings_current
from opportunities import services as opp
from opportunities.models import Opportunity
from sync_engine.conflicts.selectors import conflicts_list
from sync_engine.conflicts.services import conflict_resolve
from sync_engine.executor import push_connection
from sync_engine.models import ChangeRecord, SyncConflict, SyncLink
from sync_engine.pull.incremental import pull_incremental
from tests.pull.conftest import save_settings


def _linked(connected, opportunity) -> SyncLink:
    assert push_connection(connection_id=connected.pk).failed == 0
    pull_incremental(connection_id=connected.pk)  # our push coming back: the base is agreed
    return SyncLink.objects.get(connection=connected, record_type="opportunity", record_id=opportunity.pk)


def _rules(connected, **rules) -> None:
    save_settings(connected, conflict_rules={**settings_current(connection=connected)["conflict_rules"], **rules})


def _both_edit(alice, sf, opportunity, link, cothon: dict, salesforce: dict, *, cothon_first: bool = True) -> Opportunity:
    """Edit both sides; `cothon_first` decides whose edit is the later one (the emulator stamps
    Salesforce's edit now, so Cothon's time is set around it)."""
    sf.Opportunity.update(link.salesforce_id, salesforce)
    stamp = parse_time(sf.Opportunity.get(link.salesforce_id)["LastModifiedDate"])
    opportunity = Opportunity.objects.get(pk=opportunity.pk)
    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data=cothon)
    when = stamp + datetime.timedelta(minutes=-5 if cothon_first else 5)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        field_changed_at={**opportunity.field_changed_at, **{name: when.isoformat() for name in cothon}})
    return opportunity


def _cycle(connected):
    """The pull, then the push it may have queued (Cothon's value going out)."""
    from sync_engine.fanout import fan_out_pending

    result = pull_incremental(connection_id=connected.pk)
    fan_out_pending()
    assert push_connection(connection_id=connected.pk).failed == 0
    return result


def test_a_pulled_change_stamps_its_fields_with_salesforces_time(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, description="Ours")
    link = _linked(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    stamp = parse_time(sf.Opportunity.get(link.salesforce_id)["LastModifiedDate"])
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.description == "Theirs" and parse_time(opportunity.field_changed_at["description"]) == stamp


def test_cothon_wins_keeps_cothons_amount_and_salesforce_converges(alice, connected, sf, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, value_min=Decimal("100000"), value_max=None)
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"value_min": Decimal("120000")}, {"Amount": 150000}, cothon_first=True)
    result = _cycle(connected)
    assert result.summary.conflicts_settled == 1 and result.summary.conflicts_held == 0
    opportunity.refresh_from_db()
    assert opportunity.value_min == Decimal("120000") and sf.Opportunity.get(link.salesforce_id)["Amount"] == 120000
    again = pull_incremental(connection_id=connected.pk)  # our write coming back: agreed, nothing more
    assert again.summary.applied == 0 and again.summary.conflicts_settled == 0


def test_salesforce_wins_takes_salesforces_value_even_after_a_later_cothon_edit(alice, connected, sf, opportunity_factory):
    _rules(connected, Amount="salesforce_wins")
    opportunity = opportunity_factory(alice.tenant, value_min=Decimal("100000"), value_max=None)
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"value_min": Decimal("120000")}, {"Amount": 150000}, cothon_first=False)
    _cycle(connected)
    opportunity.refresh_from_db()
    assert opportunity.value_min == Decimal("150000") and sf.Opportunity.get(link.salesforce_id)["Amount"] == 150000


@pytest.mark.parametrize("cothon_later", [True, False])
def test_last_write_wins_takes_the_later_side(alice, connected, sf, opportunity_factory, cothon_later):
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"description": "Ours"}, {"Description": "Theirs"}, cothon_first=not cothon_later)
    _cycle(connected)
    opportunity.refresh_from_db()
    expected = "Ours" if cothon_later else "Theirs"
    assert opportunity.description == expected and sf.Opportunity.get(link.salesforce_id)["Description"] == expected


def test_cothon_wins_is_pushed_also_when_salesforce_changed_first(alice, connected, sf, opportunity_factory):
    """The push side: Cothon's edit goes out by itself (no pull needed) and wins, as its rule says."""
    opportunity = opportunity_factory(alice.tenant, closing_date=datetime.date(2030, 5, 1))
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"closing_date": datetime.date(2030, 7, 1)}, {"CloseDate": "2030-09-01"})
    assert push_connection(connection_id=connected.pk).failed == 0
    assert sf.Opportunity.get(link.salesforce_id)["CloseDate"] == "2030-07-01"
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.closing_date == datetime.date(2030, 7, 1) and not SyncConflict.objects.exists()


def test_review_holds_the_conflict_changes_neither_side_and_a_replay_adds_nothing(alice, connected, sf, opportunity_factory):
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"description": "Ours"}, {"Description": "Theirs"})
    result = _cycle(connected)  # Cothon's own edit is pushed too: the held field is not sent
    assert result.summary.conflicts_held == 1
    opportunity.refresh_from_db()
    assert opportunity.description == "Ours" and sf.Opportunity.get(link.salesforce_id)["Description"] == "Theirs"
    conflict = conflicts_list(tenant=alice.tenant).get()
    assert (conflict.sf_field, conflict.base_value, conflict.cothon_value, conflict.salesforce_value) == (
        "Description", "Agreed", "Ours", "Theirs")
    assert conflict.salesforce_changed_by and conflict.salesforce_changed_at and conflict.cothon_changed_at
    # The same record again (the overlap window, an Outbound Message replay): no second conflict.
    pull_incremental(connection_id=connected.pk)
    SyncLink.objects.filter(pk=link.pk).update(salesforce_modstamp=None)
    replay = pull_incremental(connection_id=connected.pk)
    assert replay.summary.conflicts_held == 1 and SyncConflict.objects.count() == 1


@pytest.mark.parametrize("later_side, expected", [("salesforce", "Ours"), ("cothon", "Theirs")],
                         ids=["salesforce-goes-back-to-the-base", "cothon-goes-back-to-the-base"])
def test_a_held_conflict_is_settled_when_one_side_goes_back_to_the_base(alice, connected, sf, opportunity_factory,
                                                                        later_side, expected):
    """Held, then one side returns to the agreed value: no longer changed on both sides, so the
    conflict is closed as superseded and the other side's change flows (found by the
    convergence property test: Salesforce going back looked like an echo and nothing moved)."""
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"description": "Ours"}, {"Description": "Theirs"})
    assert _cycle(connected).summary.conflicts_held == 1
    if later_side == "salesforce":
        sf.Opportunity.update(link.salesforce_id, {"Description": "Agreed"})
    else:
        opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                               data={"description": "Agreed"})
        sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})  # a new stamp: the pull reads it again
    _cycle(connected)
    _cycle(connected)
    conflict = SyncConflict.objects.get()
    assert (conflict.status, conflict.resolution) == ("resolved", "superseded")
    opportunity.refresh_from_db()
    assert opportunity.description == expected == sf.Opportunity.get(link.salesforce_id)["Description"]


@pytest.mark.parametrize("choice, value, expected", [
    ("keep_cothon", None, "Ours"), ("keep_salesforce", None, "Theirs"), ("value", "Both of us", "Both of us")])
def test_resolving_writes_cothon_syncs_out_and_settles(alice, connected, sf, opportunity_factory, choice, value, expected):
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"description": "Ours"}, {"Description": "Theirs"})
    _cycle(connected)
    conflict = SyncConflict.objects.get()
    conflict_resolve(tenant=alice.tenant, conflict_ids=[conflict.pk], choice=choice, value=value, actor=alice.admin)
    assert ChangeRecord.objects.filter(record_id=opportunity.pk, origin="cothon", fields__contains=["description"]).exists()
    _cycle(connected)
    opportunity.refresh_from_db()
    conflict.refresh_from_db()
    assert opportunity.description == expected and sf.Opportunity.get(link.salesforce_id)["Description"] == expected
    assert (conflict.status, conflict.resolution, conflict.resolved_by) == ("resolved", choice, alice.admin)
    assert not SyncConflict.objects.filter(status="open").exists()


def test_resolving_refuses_another_tenants_conflict_and_bad_input(alice, bob, connected, sf, opportunity_factory):
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    _both_edit(alice, sf, opportunity, link, {"description": "Ours"}, {"Description": "Theirs"})
    _cycle(connected)
    conflict = SyncConflict.objects.get()
    with pytest.raises(SyncConflict.DoesNotExist):
        conflict_resolve(tenant=bob.tenant, conflict_ids=[conflict.pk], choice="keep_cothon", actor=bob.admin)
    with pytest.raises(ValidationError):
        conflict_resolve(tenant=alice.tenant, conflict_ids=[conflict.pk], choice="toss_a_coin", actor=alice.admin)
    with pytest.raises(ValidationError):
        conflict_resolve(tenant=alice.tenant, conflict_ids=[conflict.pk], choice="value", actor=alice.admin)
    conflict_resolve(tenant=alice.tenant, conflict_ids=[conflict.pk], choice="keep_cothon", actor=alice.admin)
    with pytest.raises(ValidationError):
        conflict_resolve(tenant=alice.tenant, conflict_ids=[conflict.pk], choice="keep_cothon", actor=alice.admin)


def _push_first(alice, connected, sf, opportunity_factory):
    """Salesforce changes the description, then Cothon does, and Cothon's edit is pushed before
    any pull has seen Salesforce's."""
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                           data={"description": "Ours", "location": "Yukon"})
    assert push_connection(connection_id=connected.pk).failed == 0
    return opportunity, link


def test_on_push_a_salesforce_wins_field_salesforce_changed_is_not_sent_and_the_pull_takes_it(alice, connected, sf,
                                                                                              opportunity_factory):
    _rules(connected, Description="salesforce_wins")
    opportunity, link = _push_first(alice, connected, sf, opportunity_factory)
    record = sf.Opportunity.get(link.salesforce_id)
    assert record["Description"] == "Theirs" and record["Cothon_Location__c"] == "Yukon"  # the rest went out
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.description == "Theirs"


def test_on_push_with_review_on_the_field_is_held_not_sent(alice, connected, sf, opportunity_factory):
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity, link = _push_first(alice, connected, sf, opportunity_factory)
    assert sf.Opportunity.get(link.salesforce_id)["Description"] == "Theirs"
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    conflict = SyncConflict.objects.get()
    assert opportunity.description == "Ours" and (conflict.cothon_value, conflict.salesforce_value) == ("Ours", "Theirs")


def test_a_held_conflict_names_the_user_who_changed_cothons_side(alice, connected, sf, opportunity_factory):
    save_settings(connected, flag_conflicts_for_review=True)
    opportunity = opportunity_factory(alice.tenant, description="Agreed")
    link = _linked(connected, opportunity)
    sf.Opportunity.update(link.salesforce_id, {"Description": "Theirs"})
    opp.opportunity_update(tenant=alice.tenant, opportunity=Opportunity.objects.get(pk=opportunity.pk),
                           data={"description": "Ours"}, changed_by=alice.member)
    pull_incremental(connection_id=connected.pk)  # the pull meets it first
    conflict = conflicts_list(tenant=alice.tenant).get()
    assert (conflict.cothon_value, conflict.cothon_changed_by) == ("Ours", alice.member)
