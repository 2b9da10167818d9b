"""End to end across the quote settings and the receiver: the admin's save sets the org up (the
product's automation, not a hand-made flow), a sales rep moves an opportunity to the trigger
stage, Salesforce posts the outbound message to the live server and a real worker makes the quote."""

from __future__ import annotations

import pytest

from proposals.models import Quote
from sync_engine.quotes import settings_services
from tests.sync_engine.workers import Worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_saving_the_settings_makes_opportunities_reaching_the_stage_quotes(alice, connected, emulator_reset, live_server,
                                                                          settings):
    settings.COTHON_BASE_URL = live_server.url
    saved = settings_services.quote_settings_save(tenant=alice.tenant, connection=connected, actor=alice.admin, data={
        "opportunity_to_quote": True, "contact_to_person": True, "trigger_stage": "Proposal", "owner_id": alice.member.pk,
        "conditions": [{"field": "Amount", "operator": ">", "value": "10000"}], "sync_back": True,
        "field_mappings": [{"sf_field": "NextStep", "target": "notes"}]})
    assert saved.automation["state"] == "ok", saved.automation
    sf = emulator_reset.sf()
    account = sf.query("SELECT Id FROM Account WHERE Name = 'Public Services and Procurement Canada'")["records"][0]["Id"]
    small = sf.Opportunity.create({"Name": "Too small", "StageName": "Qualification", "CloseDate": "2031-05-14",
                                   "Amount": 5000, "AccountId": account})["id"]
    moved = sf.Opportunity.create({"Name": "Translation services, PSPC", "StageName": "Qualification", "CloseDate": "2031-05-14",
                                   "Amount": 25000, "AccountId": account, "NextStep": "Price the translators"})["id"]
    worker = Worker(queues="realtime,default").start()
    try:
        sf.Opportunity.update(small, {"StageName": "Proposal"})
        sf.Opportunity.update(moved, {"StageName": "Proposal"})
        wait_for(lambda: Quote.objects.filter(tenant=alice.tenant, title="Translation services, PSPC").exists(), timeout=90,
                 message=f"the quote of the moved opportunity (worker log: {worker.log_path})")
    finally:
        worker.stop()
    quote = Quote.objects.get(tenant=alice.tenant)
    assert quote.status == "scoping" and quote.owner == alice.member
    assert quote.company.name == "Public Services and Procurement Canada"
    assert quote.notes == "Price the translators"  # the mapping made in the settings
