"""Synchronize now in a real browser: the admin clicks the button, the panel shows the run
live (a real worker makes the quotes) and its counts when it finishes. Screenshot in
test-artifacts/ for a person to look at."""

from __future__ import annotations

import pytest

from proposals.models import Quote
from tests.quotes.conftest import contact_id, make_opportunity
from tests.sync_engine.workers import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


@pytest.fixture
def quote_settings(alice, connected):
    from sync_engine.quotes.models import QuoteSettings

    return QuoteSettings.objects.create(connection=connected, opportunity_to_quote=True, trigger_stage="Proposal",
                                        owner=alice.member, conditions=[{"field": "Amount", "operator": ">", "value": "10000"}])


@pytest.fixture
def sf(emulator_reset):
    return emulator_reset.sf(token=emulator_reset.token("demo", emulator_reset.demo["admin"]["username"]))


def test_synchronize_now_runs_live_and_shows_its_counts(alice, connected, quote_settings, sf, page, login, live_server,
                                                        screenshot):
    for n, amount in enumerate((25000, 48000, 9000), start=1):
        make_opportunity(sf, name=f"Translation services, lot {n}", stage="Proposal", amount=amount, contact=contact_id(sf))
    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connected.pk}/quotes/synchronize/")
    panel = page.locator("#quote-synchronize")
    assert "Makes the quote of every opportunity at the stage “Proposal”" in panel.inner_text()
    worker = Worker(queues="default").start()
    try:
        page.click("[data-testid=synchronize-now]")
        page.wait_for_selector("#quote-synchronize[data-status=succeeded]", timeout=90_000)
    finally:
        worker.stop()
    assert page.locator("[data-testid=quote-sync-created]").inner_text() == "2"
    assert "2 quote(s) created, 0 already had one, 0 failed" in page.locator("[data-testid=quote-sync-message]").inner_text()
    assert Quote.objects.filter(tenant=alice.tenant).count() == 2
    screenshot(page, "quote-synchronize-now")
