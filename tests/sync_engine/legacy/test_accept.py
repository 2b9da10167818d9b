"""Accepting links the pair and the normal push writes Cothon_Ref__c to the legacy record;
rejecting is remembered; a record under review is not pushed as a new Salesforce opportunity."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from sync_engine import links
from sync_engine.executor import push_connection
from sync_engine.legacy import services
from sync_engine.legacy.models import LegacyMatchProposal, ProposalStatus
from sync_engine.models import LinkStatus, MatchedBy, OutboxEntry, SyncLink, SyncLog


@pytest.fixture
def matched(legacy_world):
    with transaction.atomic():
        job = services.legacy_match_start(connection=legacy_world["connection"])
    services.legacy_match_run(job_id=job.pk)
    return legacy_world


def proposal(world, cothon: str, sf: str) -> LegacyMatchProposal:
    return LegacyMatchProposal.objects.get(opportunity=world["cothon"][cothon], salesforce_id=world["sf"][sf])


def sf_opportunities(emulator, where: str) -> list[dict]:
    return emulator.sf().query_all(f"SELECT Id, Name, Cothon_Ref__c FROM Opportunity WHERE {where}")["records"]


def test_accept_links_the_pair_and_the_push_writes_the_reference_to_the_legacy_record(matched, alice, emulator_reset,
                                                                                     django_capture_on_commit_callbacks):
    radar = matched["cothon"]["radar"]
    chosen = proposal(matched, "radar", "radar")
    push_connection(connection_id=matched["connection"].pk)  # held: its creation is not pushed
    with django_capture_on_commit_callbacks(execute=False):
        services.legacy_proposal_accept(tenant=alice.tenant, proposal_id=chosen.pk, actor=alice.admin)
    chosen.refresh_from_db()
    assert chosen.status == ProposalStatus.ACCEPTED and chosen.decided_by == alice.admin
    link = SyncLink.objects.get(record_type="opportunity", record_id=radar.pk)
    assert link.salesforce_id == matched["sf"]["radar"] and link.matched_by == MatchedBy.LEGACY_REVIEW
    assert link.status == LinkStatus.PENDING
    # The decoy for the same Cothon record is no longer a candidate.
    assert proposal(matched, "radar", "radar_decoy").status == ProposalStatus.SUPERSEDED
    push_connection(connection_id=matched["connection"].pk)
    [record] = sf_opportunities(emulator_reset, f"Cothon_Ref__c = '{radar.reference}'")
    assert record["Id"][:15] == matched["sf"]["radar"][:15]  # the legacy record, not a new one
    # Only the reference was written: the Salesforce values stay until the pair syncs in full.
    assert record["Name"] == "Coast Guard radar maintenance (Atlantic) - DFO"
    link.refresh_from_db()
    assert link.status == LinkStatus.SYNCED
    assert not OutboxEntry.objects.filter(record_id=radar.pk, state="pending").exists()


def test_a_record_under_review_is_not_pushed_until_its_proposals_are_rejected(matched, alice, emulator_reset):
    wildfire = matched["cothon"]["wildfire"]
    push_connection(connection_id=matched["connection"].pk)
    assert sf_opportunities(emulator_reset, f"Cothon_Ref__c = '{wildfire.reference}'") == []
    held = SyncLog.objects.filter(record_id=wildfire.pk, error_code="LEGACY_REVIEW")
    assert held.exists() and "Match Legacy Records" in held.first().error_message
    for row in LegacyMatchProposal.objects.filter(opportunity=wildfire):
        services.legacy_proposal_reject(tenant=alice.tenant, proposal_id=row.pk, actor=alice.admin)
    push_connection(connection_id=matched["connection"].pk)
    [created] = sf_opportunities(emulator_reset, f"Cothon_Ref__c = '{wildfire.reference}'")
    assert created["Id"][:15] != matched["sf"]["wildfire"][:15]  # rejected: pushed as its own record


def test_one_salesforce_opportunity_links_to_one_cothon_record(matched, alice, opportunity_factory):
    taken = proposal(matched, "translation", "translation")
    other = opportunity_factory(alice.tenant, title="Someone else")
    links.link_by_review(tenant_id=alice.tenant.pk, connection_id=matched["connection"].pk, record_type="opportunity",
                         record_id=other.pk, sobject="Opportunity", salesforce_id=matched["sf"]["translation"])
    with pytest.raises(ValidationError, match="already linked to Cothon opportunity “Someone else”"):
        services.legacy_proposal_accept(tenant=alice.tenant, proposal_id=taken.pk)
    taken.refresh_from_db()
    assert taken.status == ProposalStatus.OPEN


def test_one_cothon_record_links_to_one_salesforce_opportunity(matched, alice):
    chosen = proposal(matched, "wildfire", "wildfire")
    links.link_by_review(tenant_id=alice.tenant.pk, connection_id=matched["connection"].pk, record_type="opportunity",
                         record_id=matched["cothon"]["wildfire"].pk, sobject="Opportunity", salesforce_id="006000000000999AAA")
    with pytest.raises(ValidationError, match="already linked to Salesforce opportunity 006000000000999AAA"):
        services.legacy_proposal_accept(tenant=alice.tenant, proposal_id=chosen.pk)


def test_bulk_accept_refuses_the_second_of_two_proposals_for_one_record_and_keeps_the_first(matched, alice):
    first, second = proposal(matched, "radar", "radar"), proposal(matched, "radar", "radar_decoy")
    outcome = services.legacy_proposals_decide(tenant=alice.tenant, proposal_ids=[first.pk, second.pk], accept=True)
    assert [p.pk for p in outcome.done] == [first.pk]
    assert "no longer a candidate" in outcome.errors[second.pk]
    assert SyncLink.objects.get(record_id=matched["cothon"]["radar"].pk).salesforce_id == matched["sf"]["radar"]


def test_accept_twice_changes_nothing_and_an_accepted_pair_cannot_be_rejected(matched, alice):
    chosen = proposal(matched, "translation", "translation")
    services.legacy_proposal_accept(tenant=alice.tenant, proposal_id=chosen.pk)
    services.legacy_proposal_accept(tenant=alice.tenant, proposal_id=chosen.pk)
    assert SyncLink.objects.filter(record_id=matched["cothon"]["translation"].pk).count() == 1
    with pytest.raises(ValidationError, match="accepted"):
        services.legacy_proposal_reject(tenant=alice.tenant, proposal_id=chosen.pk)


def test_another_tenants_proposal_is_not_found(matched, bob):
    chosen = proposal(matched, "translation", "translation")
    with pytest.raises(LegacyMatchProposal.DoesNotExist):
        services.legacy_proposal_accept(tenant=bob.tenant, proposal_id=chosen.pk)
    outcome = services.legacy_proposals_decide(tenant=bob.tenant, proposal_ids=[chosen.pk], accept=False)
    assert outcome.errors == {chosen.pk: "No such proposal."}
    chosen.refresh_from_db()
    assert chosen.status == ProposalStatus.OPEN


def test_rejecting_queues_the_held_record_but_never_one_linked_meanwhile(matched, alice):
    from sync_engine.models import ChangeRecord

    radar, wildfire = matched["cothon"]["radar"], matched["cothon"]["wildfire"]
    ChangeRecord.objects.all().delete()
    for row in LegacyMatchProposal.objects.filter(opportunity=wildfire):
        services.legacy_proposal_reject(tenant=alice.tenant, proposal_id=row.pk)
    assert list(ChangeRecord.objects.values_list("record_id", flat=True)) == [wildfire.pk]
    ChangeRecord.objects.all().delete()
    links.link_by_review(tenant_id=alice.tenant.pk, connection_id=matched["connection"].pk, record_type="opportunity",
                         record_id=radar.pk, sobject="Opportunity", salesforce_id="006000000000777AAA")
    for row in LegacyMatchProposal.objects.filter(opportunity=radar):
        services.legacy_proposal_reject(tenant=alice.tenant, proposal_id=row.pk)
    assert not ChangeRecord.objects.exists()
