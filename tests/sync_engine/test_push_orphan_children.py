"""Children of an opportunity that has no partner in Salesforce — skipped in the connection, or
deleted in Salesforce — are not sent (analyses, requirements, Tasks, notes, files): each gets a
"skipped" log row saying why, not a failure that burns retries; they go out once the opportunity
is unskipped, re-linked or re-created (sync_engine/handlers/base.py `drop_orphans`,
partner_actions `_queue_children`)."""

from __future__ import annotations

import pytest

from opportunities import services as opp
from sync_engine import partner_actions as actions
from sync_engine.executor import push_connection
from sync_engine.handlers.base import PARENT_DELETED, PARENT_SKIPPED
from sync_engine.models import OutboxEntry, SyncLink, SyncLog
from tests.conftest import salesforce_opportunity


def _sf(emulator, soql: str) -> list[dict]:
    return emulator.sf().query_all(soql)["records"]


def _children(alice, opportunity):
    """A completed analysis with a requirement (and its Task) and a comment (a Note)."""
    analysis = opp.analysis_create(tenant=alice.tenant, opportunity=opportunity, summary="Fit")
    opp.requirement_add(tenant=alice.tenant, analysis=analysis, code="M1", text="Hold a DOS", kind="mandatory")
    opp.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=80)
    comment = opp.comment_create(tenant=alice.tenant, opportunity=opportunity, author=alice.member, body="Call the buyer")
    return analysis, comment


def _skipped_rows(code: str) -> set[str]:
    return set(SyncLog.objects.filter(result="skipped", error_code=code).values_list("record_type", flat=True))


def test_children_of_a_skipped_opportunity_are_skipped_with_a_reason_and_sent_on_unskip(alice, connected, emulator_reset,
                                                                                        opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Kept out")
    assert push_connection(connection_id=connected.pk).failed == 0
    actions.opportunity_skip(connection=connected, opportunity=opportunity, actor=alice.member)
    analysis, comment = _children(alice, opportunity)
    summary = push_connection(connection_id=connected.pk)
    assert summary.failed == 0 and summary.retried == 0
    assert _skipped_rows(PARENT_SKIPPED) == {"analysis", "requirement", "comment"}
    assert SyncLog.objects.filter(error_code=PARENT_SKIPPED, sobject="Task").exists()  # the analysis's Task
    assert "skipped in this connection by alice-member" in SyncLog.objects.filter(error_code=PARENT_SKIPPED).first().error_message
    assert not OutboxEntry.objects.filter(state__in=["pending", "claimed"]).exists()  # nothing left to retry
    assert not _sf(emulator_reset, "SELECT Id FROM Cothon_Analysis__c")

    actions.opportunity_unskip(connection=connected, opportunity=opportunity, actor=alice.admin)
    assert push_connection(connection_id=connected.pk).failed == 0
    [sf_analysis] = _sf(emulator_reset, "SELECT Id, (SELECT Id FROM Cothon_Requirements__r) FROM Cothon_Analysis__c")
    assert len(sf_analysis["Cothon_Requirements__r"]["records"]) == 1
    parent = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk).salesforce_id
    assert _sf(emulator_reset, f"SELECT Id FROM Note WHERE ParentId = '{parent}'")
    assert _sf(emulator_reset, f"SELECT Id FROM Task WHERE WhatId = '{parent}' AND Subject = 'Cothon: Bid Analysis Completed'")


@pytest.mark.parametrize("action", ["relink", "recreate"])
def test_children_of_an_opportunity_deleted_in_salesforce_wait_and_follow_it_to_its_new_partner(
        alice, connected, emulator_reset, deleted_in_salesforce, action):
    opportunity, dead = deleted_in_salesforce
    _children(alice, opportunity)
    summary = push_connection(connection_id=connected.pk)
    assert summary.retried == 0
    assert _skipped_rows(PARENT_DELETED) == {"analysis", "requirement", "comment"}
    assert "re-linked or re-created" in SyncLog.objects.filter(error_code=PARENT_DELETED).first().error_message
    assert not SyncLog.objects.filter(result="failed", record_type__in=["analysis", "requirement", "comment"]).exists()

    if action == "relink":
        target = salesforce_opportunity(emulator_reset, ref=opportunity.reference)
        actions.opportunity_relink(connection=connected, opportunity=opportunity, salesforce_id=target, actor=alice.admin)
    else:
        actions.opportunity_recreate(connection=connected, opportunity=opportunity, actor=alice.admin)
    assert push_connection(connection_id=connected.pk).failed == 0
    parent = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk).salesforce_id
    assert parent and parent != dead
    [sf_analysis] = _sf(emulator_reset, f"SELECT Id, (SELECT Id FROM Cothon_Requirements__r) FROM Cothon_Analysis__c "
                                        f"WHERE Cothon_Opportunity__c = '{parent}'")
    assert len(sf_analysis["Cothon_Requirements__r"]["records"]) == 1
    assert _sf(emulator_reset, f"SELECT Id FROM Note WHERE ParentId = '{parent}'")
