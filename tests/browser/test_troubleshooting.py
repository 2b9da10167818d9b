"""The seed's two troubleshooting items in a real browser: an opportunity locked by an approval
process in Salesforce (the emulator viewer's Submit for Approval, the record page's "Locked by an
approval process" state), and the connection page's Clear account cache. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import pytest
from django.utils import timezone

from opportunities import services as opp
from sync_engine.executor import push_connection
from sync_engine.models import AccountCacheEntry, SyncLink

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_a_record_submitted_for_approval_in_salesforce_shows_as_locked_with_the_fix(
        page, live_server, login, screenshot, alice, connected, emulator_reset, opportunity_factory):
    from playwright.sync_api import expect

    opportunity = opportunity_factory(alice.tenant, title="Fleet telematics")
    assert push_connection(connection_id=connected.pk).failed == 0
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk, sobject="Opportunity")

    # In "Salesforce": the record viewer's Submit for Approval locks it.
    page.goto(f"{emulator_reset.http_url}/lightning/r/Opportunity/{link.salesforce_id}/view")
    page.get_by_role("button", name="Submit for Approval").click()
    expect(page.locator(".locked")).to_contain_text("This record is locked.")
    expect(page.get_by_role("button", name="Recall Approval Request")).to_be_visible()
    screenshot(page, "emulator-record-locked")

    opp.opportunity_update(tenant=alice.tenant, opportunity=opportunity, data={"title": "Fleet telematics (phase 2)"})
    assert push_connection(connection_id=connected.pk).failed == 1
    login(page, alice.member)
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/")
    locked = page.locator("#salesforce-panel [data-testid=sf-locked]")
    expect(locked).to_contain_text("Locked by an approval process in Salesforce")
    expect(locked).to_contain_text("Complete the approval or recall it in Salesforce")
    screenshot(page, "record-panel-locked-by-approval")


def test_an_admin_clears_the_account_cache_from_the_connection_page(page, live_server, login, screenshot, alice, connected):
    from playwright.sync_api import expect

    for i, name in enumerate(("health canada", "transport canada", "parks canada")):
        AccountCacheEntry.objects.create(connection=connected, name_key=name, salesforce_id=f"00100000000000{i}AAA",
                                         refreshed_at=timezone.now())
    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connected.pk}/")
    card = page.locator("#troubleshooting")
    expect(card.locator("[data-testid=account-cache-count]")).to_have_text("3")
    card.scroll_into_view_if_needed()
    screenshot(page, "connection-troubleshooting-card")
    card.get_by_role("button", name="Clear account cache").click()
    expect(page.locator("body")).to_contain_text("Account cache cleared (3 entries)")
    expect(page.locator("#troubleshooting [data-testid=account-cache-count]")).to_have_text("0")
    expect(page.locator("#events")).to_contain_text("Cache cleared")
    screenshot(page, "connection-account-cache-cleared")
    assert not AccountCacheEntry.objects.exists()
