"""End to end: the org's "Cothon Opportunity Flow" (created through the emulator's Tooling API
as the contract says) sends the "Cothon integration" Outbound Message to the receiver on a live
server when an opportunity reaches the trigger stage; a real Celery worker makes the quote.
An opportunity created already at the stage never fires the flow: Synchronize now (its task
on a real worker too) makes its quote."""

from __future__ import annotations

import pytest

from proposals.models import Quote
from sync_engine.models import SyncLink
from sync_engine.quotes.models import QuoteNotification, QuoteSync
from sync_engine.quotes.receiver import receiver_path
from sync_engine.quotes.sync_now import quote_sync_start
from tests.quotes.conftest import contact_id, make_opportunity
from tests.sync_engine.workers import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def set_up_the_org(sf, endpoint_url: str, stage: str = "Proposal", amount_over: float = 10000) -> None:
    """What sync_engine.quotes.automation creates (the flow contract): the outbound message,
    then the flow whose one action sends it."""
    message = sf.restful("tooling/sobjects/WorkflowOutboundMessage", method="POST", json={
        "FullName": "Opportunity.Cothon_integration",
        "Metadata": {"name": "Cothon integration", "endpointUrl": endpoint_url,
                     "fields": ["Id", "Name", "StageName", "Amount", "CloseDate", "AccountId"],
                     "includeSessionId": False, "protected": False, "useDeadLetterQueue": False, "apiVersion": 62.0}})
    assert message["success"], message
    flow = sf.restful("tooling/sobjects/Flow", method="POST", json={
        "FullName": "Cothon_Opportunity_Flow",
        "Metadata": {
            "label": "Cothon Opportunity Flow", "processType": "AutoLaunchedFlow", "status": "Active", "apiVersion": 62.0,
            "description": "Created by Cothon: sends opportunities that reach the quote stage.",
            "start": {"object": "Opportunity", "triggerType": "RecordAfterSave", "recordTriggerType": "Update",
                      "doesRequireRecordChangedToMeetCriteria": True, "filterLogic": "and",
                      "filters": [{"field": "StageName", "operator": "EqualTo", "value": {"stringValue": stage}},
                                  {"field": "Amount", "operator": "GreaterThan", "value": {"numberValue": amount_over}}],
                      "connector": {"targetReference": "Send_to_Cothon"}, "locationX": 50, "locationY": 0},
            "actionCalls": [{"name": "Send_to_Cothon", "label": "Send to Cothon", "actionType": "outboundMessage",
                             "actionName": "Opportunity.Cothon_integration", "locationX": 176, "locationY": 134}]}})
    assert flow["success"], flow


def test_an_opportunity_reaching_the_stage_becomes_a_quote_and_one_created_at_it_waits_for_synchronize_now(
        alice, connected, quote_settings, sf, live_server):
    quote_settings.conditions = [{"field": "Amount", "operator": ">", "value": "10000"}]
    quote_settings.save()
    set_up_the_org(sf, live_server.url + receiver_path(connected))
    # Created at the stage: the flow (Update, record changed to meet the criteria) never fires.
    at_stage = make_opportunity(sf, name="Created at the stage", stage="Proposal", amount=50000)
    moved = make_opportunity(sf, name="Moved to the stage", stage="Prospecting", amount=25000, contact=contact_id(sf))
    small = make_opportunity(sf, name="Too small", stage="Prospecting", amount=5000)
    worker = Worker(queues="realtime,default").start()
    try:
        sf.Opportunity.update(small, {"StageName": "Proposal"})  # fails the Amount condition: no message
        sf.Opportunity.update(moved, {"StageName": "Proposal"})
        wait_for(lambda: Quote.objects.filter(tenant=alice.tenant, title="Moved to the stage").exists(), timeout=60,
                 message=f"the quote of the moved opportunity (worker log: {worker.log_path})")
        quote = Quote.objects.get(title="Moved to the stage")
        assert quote.status == "scoping" and quote.owner == alice.member
        assert quote.company.name == "Public Services and Procurement Canada" and quote.person.last_name == "Buyer"
        assert set(QuoteNotification.objects.values_list("salesforce_id", flat=True)) == {moved}

        # The same opportunity leaves the stage and comes back: the flow fires again, no second quote.
        sf.Opportunity.update(moved, {"StageName": "Negotiation"})
        sf.Opportunity.update(moved, {"StageName": "Proposal"})
        wait_for(lambda: QuoteNotification.objects.filter(salesforce_id=moved, processed_at__isnull=False).count() == 2,
                 timeout=60, message=f"the second notification processed (worker log: {worker.log_path})")
        assert Quote.objects.filter(tenant=alice.tenant).count() == 1

        run = quote_sync_start(connection=connected, actor=alice.admin)
        wait_for(lambda: not QuoteSync.objects.get(pk=run.pk).active, timeout=60,
                 message=f"Synchronize now finished (worker log: {worker.log_path})")
    finally:
        worker.stop()
    run.refresh_from_db()
    assert run.status == "succeeded", run.message
    assert (run.total, run.created, run.existing, run.failed) == (2, 1, 1, 0)
    assert Quote.objects.filter(tenant=alice.tenant, title="Created at the stage").count() == 1
    assert not Quote.objects.filter(title="Too small").exists()
    assert SyncLink.objects.filter(connection=connected, record_type="quote").count() == 2
    assert {at_stage, moved} == set(SyncLink.objects.filter(record_type="quote").values_list("salesforce_id", flat=True))
