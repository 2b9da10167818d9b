"""Records whose Salesforce partner was deleted, against the emulator: re-link (search, pick,
push), skip / unskip (never pushed nor pulled while skipped) and re-create (a new record,
linked), each logged with its actor; bad ids refused with the reason."""

from __future__ import annotations

import datetime

import pytest

from opportunities import services as opp
from sync_engine import partner_actions as actions
from sync_engine.executor import push_connection
from sync_engine.models import LinkStatus, MatchedBy, OutboxEntry, SyncLink, SyncLog
from sync_engine.pull.incremental import pull_incremental
from sync_engine.selectors import SyncState, connection_sync_state, record_sync_state
from tests.conftest import salesforce_opportunity


def _sf(emulator, soql: str) -> list[dict]:
    return emulator.sf().query_all(soql)["records"]


def _link(opportunity) -> SyncLink:
    return SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk, sobject="Opportunity")


@pytest.fixture
def deleted(deleted_in_salesforce):
    return deleted_in_salesforce


def _other_sf_opportunity(emulator, **kwargs) -> str:
    return salesforce_opportunity(emulator, **kwargs)


# --- search ----------------------------------------------------------------------------------

def test_search_finds_the_orgs_opportunities_by_title_reference_and_close_date(alice, connected, emulator_reset, deleted):
    opportunity, dead = deleted
    wanted = _other_sf_opportunity(emulator_reset)
    _other_sf_opportunity(emulator_reset, name="Bridge inspection, other date", close="2032-01-01", ref="LEGACY-78")
    by_title = actions.salesforce_opportunity_search(connection=connected, title="bridge INSPECTION")
    assert wanted in [c.salesforce_id for c in by_title] and dead not in [c.salesforce_id for c in by_title]
    both = actions.salesforce_opportunity_search(connection=connected, title="Bridge inspection",
                                                 close_date=datetime.date(2031, 5, 14))
    assert [c.salesforce_id for c in both] == [wanted]
    [by_ref] = actions.salesforce_opportunity_search(connection=connected, reference="LEGACY-77  ")
    assert by_ref.name == "Bridge inspection, Ottawa region" and by_ref.close_date == "2031-05-14" and by_ref.linked_record_id is None


def test_search_input_is_escaped_not_pasted_into_soql(connected, emulator_reset):
    _other_sf_opportunity(emulator_reset, name="Plain name")
    assert actions.salesforce_opportunity_search(connection=connected, title="' OR Name != '") == []
    assert actions.salesforce_opportunity_search(connection=connected, title="%") == []  # a literal %, not "anything"
    assert actions.salesforce_opportunity_search(connection=connected, reference="x' OR Id != '") == []


def test_search_without_criteria_is_refused(connected):
    with pytest.raises(actions.PartnerActionError) as error:
        actions.salesforce_opportunity_search(connection=connected, title="  ")
    assert error.value.code == "no_criteria"


def test_search_says_which_cothon_record_a_candidate_is_linked_to(alice, connected, emulator_reset, opportunity_factory):
    linked = opportunity_factory(alice.tenant, title="Snow removal, depot 4")
    push_connection(connection_id=connected.pk)
    [candidate] = actions.salesforce_opportunity_search(connection=connected, title="Snow removal, depot 4")
    assert candidate.linked_record_id == linked.pk and candidate.linked_title == "Snow removal, depot 4"


# --- re-link ---------------------------------------------------------------------------------

def test_relink_links_the_chosen_record_and_pushes_cothons_values_to_it(alice, connected, emulator_reset, deleted):
    opportunity, dead = deleted
    target = _other_sf_opportunity(emulator_reset)
    run = actions.opportunity_relink(connection=connected, opportunity=opportunity, salesforce_id=target[:15], actor=alice.member)
    link = _link(opportunity)
    assert link.salesforce_id == target and link.matched_by == MatchedBy.RELINKED and link.status == LinkStatus.PENDING
    assert OutboxEntry.objects.filter(record_id=opportunity.pk, state="pending", priority=0).exists() and run.record_id == opportunity.pk
    assert push_connection(connection_id=connected.pk).failed == 0
    [record] = _sf(emulator_reset, f"SELECT Name, Description, Cothon_Ref__c FROM Opportunity WHERE Id = '{target}'")
    assert record["Name"] == "Bridge inspection services" and record["Description"] == "Edited after the delete"
    assert record["Cothon_Ref__c"] == opportunity.reference
    assert record_sync_state(tenant=alice.tenant, record_type="opportunity", record_id=opportunity.pk,
                             connection=connected).state == SyncState.IN_SYNC
    log = SyncLog.objects.get(operation="relink")
    assert log.actor == alice.member and log.salesforce_id == target and dead in log.error_message


@pytest.mark.parametrize("bad, code", [("not-an-id", "invalid_id"), ("006" + "x" * 20, "invalid_id"),
                                       ("001000000000001AAA", "wrong_object"), ("006000000000999AAA", "unknown_id")])
def test_relink_refuses_ids_that_are_not_an_opportunity_of_the_org(alice, connected, deleted, bad, code):
    opportunity, dead = deleted
    with pytest.raises(actions.PartnerActionError) as error:
        actions.opportunity_relink(connection=connected, opportunity=opportunity, salesforce_id=bad, actor=alice.member)
    assert error.value.code == code
    assert _link(opportunity).salesforce_id == dead and not SyncLog.objects.filter(operation="relink").exists()


def test_relink_refuses_the_deleted_record_itself(alice, connected, deleted):
    opportunity, dead = deleted
    with pytest.raises(actions.PartnerActionError) as error:
        actions.opportunity_relink(connection=connected, opportunity=opportunity, salesforce_id=dead, actor=alice.member)
    assert error.value.code == "unknown_id"


def test_one_salesforce_record_is_never_linked_to_two_cothon_records(alice, connected, deleted, opportunity_factory):
    opportunity, _ = deleted
    other = opportunity_factory(alice.tenant, title="Already linked")
    push_connection(connection_id=connected.pk)
    taken = _link(other).salesforce_id
    with pytest.raises(actions.PartnerActionError) as error:
        actions.opportunity_relink(connection=connected, opportunity=opportunity, salesforce_id=taken, actor=alice.member)
    assert error.value.code == "already_linked" and "Already linked" in error.value.messages[0]


# --- skip ------------------------------------------------------------------------------------

def test_a_skipped_record_is_neither_pushed_nor_pulled_and_unskip_syncs_it_again(alice, connected, emulator_reset,
                                                                                 opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Kept out")
    push_connection(connection_id=connected.pk)
    sf_id = _link(opportunity).salesforce_id
    assert actions.opportunity_skip(connection=connected, opportunity=opportunity, actor=alice.member)
    assert not actions.opportunity_skip(connection=connected, opportunity=opportunity, actor=alice.member)  # already
    state = record_sync_state(tenant=alice.tenant, record_type="opportunity", record_id=opportunity.pk, connection=connected)
    assert state.state == SyncState.SKIPPED and state.reason.startswith(f"Skipped by {alice.member.get_username()} on ")
    assert connection_sync_state(tenant=alice.tenant, connection=connected).skipped == 1

    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Renamed in Cothon"})
    push_connection(connection_id=connected.pk)
    [record] = _sf(emulator_reset, f"SELECT Name FROM Opportunity WHERE Id = '{sf_id}'")
    assert record["Name"] == "Kept out"  # not pushed
    assert SyncLog.objects.filter(record_id=opportunity.pk, operation="skip", result="skipped",
                                  error_message__contains="skipped in this connection by").exists()

    pull_incremental(connection_id=connected.pk)
    emulator_reset.sf().Opportunity.update(sf_id, {"Description": "Changed in Salesforce"})
    pull_incremental(connection_id=connected.pk)
    opportunity.refresh_from_db()
    assert opportunity.description != "Changed in Salesforce"  # not pulled

    link = actions.opportunity_unskip(connection=connected, opportunity=opportunity, actor=alice.admin)
    assert link.status == LinkStatus.SYNCED and link.skipped_by is None
    assert push_connection(connection_id=connected.pk).failed == 0
    [record] = _sf(emulator_reset, f"SELECT Name FROM Opportunity WHERE Id = '{sf_id}'")
    assert record["Name"] == "Renamed in Cothon"  # what changed while skipped goes out
    assert list(SyncLog.objects.filter(operation__in=("skip", "unskip"), actor__isnull=False)
                .values_list("operation", "actor")) == [("skip", alice.member.pk), ("unskip", alice.admin.pk)]


def test_skipping_a_deleted_record_keeps_deleted_for_unskip(alice, connected, deleted):
    opportunity, dead = deleted
    actions.opportunity_skip(connection=connected, opportunity=opportunity, actor=alice.member)
    assert _link(opportunity).status == LinkStatus.SKIPPED
    with pytest.raises(actions.PartnerActionError) as error:
        actions.opportunity_recreate(connection=connected, opportunity=opportunity, actor=alice.member)
    assert error.value.code == "skipped"
    link = actions.opportunity_unskip(connection=connected, opportunity=opportunity, actor=alice.member)
    assert link.status == LinkStatus.DELETED_IN_SALESFORCE and link.salesforce_id == dead
    assert not OutboxEntry.objects.filter(record_id=opportunity.pk, state="pending").exists()  # nothing to send it to


def test_unskip_of_a_record_that_is_not_skipped_is_refused(alice, connected, deleted):
    with pytest.raises(actions.PartnerActionError) as error:
        actions.opportunity_unskip(connection=connected, opportunity=deleted[0], actor=alice.member)
    assert error.value.code == "not_skipped"


# --- re-create -------------------------------------------------------------------------------

def test_recreate_pushes_the_record_as_new_and_links_it(alice, connected, emulator_reset, deleted):
    opportunity, dead = deleted
    actions.opportunity_recreate(connection=connected, opportunity=opportunity, actor=alice.member)
    assert _link(opportunity).salesforce_id == ""
    assert push_connection(connection_id=connected.pk).failed == 0
    link = _link(opportunity)
    assert link.status == LinkStatus.SYNCED and link.salesforce_id and link.salesforce_id != dead
    [record] = _sf(emulator_reset, f"SELECT Id, Description FROM Opportunity WHERE Cothon_Ref__c = '{opportunity.reference}'")
    assert record["Id"] == link.salesforce_id and record["Description"] == "Edited after the delete"
    assert SyncLog.objects.get(operation="recreate").actor == alice.member


def test_recreate_is_refused_for_a_record_that_is_not_deleted_in_salesforce(alice, connected, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    push_connection(connection_id=connected.pk)
    with pytest.raises(actions.PartnerActionError) as error:
        actions.opportunity_recreate(connection=connected, opportunity=opportunity, actor=alice.member)
    assert error.value.code == "not_deleted"


# --- many at once ----------------------------------------------------------------------------

def test_bulk_recreate_and_skip_decide_each_record_alone(alice, bob, connected, emulator_reset, deleted, opportunity_factory):
    first, _ = deleted
    second = opportunity_factory(alice.tenant, title="Second one")
    push_connection(connection_id=connected.pk)
    emulator_reset.sf().Opportunity.delete(_link(second).salesforce_id)
    opp.opportunity_update(tenant=alice.tenant, opportunity=second, data={"description": "x"})
    push_connection(connection_id=connected.pk)
    synced = opportunity_factory(alice.tenant, title="Still fine")
    push_connection(connection_id=connected.pk)
    foreign = opportunity_factory(bob.tenant)

    outcome = actions.opportunities_bulk_action(connection=connected, action="recreate", actor=alice.admin,
                                                opportunity_ids=[first.pk, second.pk, synced.pk, foreign.pk])
    assert outcome.done == [first.pk, second.pk]
    assert set(outcome.refused) == {synced.pk, foreign.pk} and "No such opportunity" in outcome.refused[foreign.pk]
    assert push_connection(connection_id=connected.pk).failed == 0
    assert {_link(first).status, _link(second).status} == {LinkStatus.SYNCED}

    outcome = actions.opportunities_bulk_action(connection=connected, action="skip", actor=alice.admin,
                                                opportunity_ids=[first.pk, second.pk])
    assert outcome.done == [first.pk, second.pk] and {_link(first).status, _link(second).status} == {LinkStatus.SKIPPED}
    with pytest.raises(actions.PartnerActionError):
        actions.opportunities_bulk_action(connection=connected, action="delete", actor=alice.admin, opportunity_ids=[first.pk])
