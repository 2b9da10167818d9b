"""Settings › Integrations › Salesforce › Quotes in a real browser against the emulator: reach it
from the connection's tabs, choose the stage, add a condition and a mapping, save, see the flow
and the outbound message set up; then a bad condition refused in place. Screenshots in
test-artifacts/quote-settings*.png."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_set_up_quotes_from_the_settings_page(page, live_server, login, alice, connected, emulator_reset, screenshot):
    from proposals.models import QuoteCustomField
    from sync_engine.quotes.models import QuoteSettings

    QuoteCustomField.objects.create(tenant=alice.tenant, key="deal_type", label="Deal type", field_type="dropdown",
                                    options=["New Business", "Existing Business", "Services"])
    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connected.pk}/")
    page.get_by_role("navigation", name="Connection pages").get_by_role("link", name="Quotes").click()
    page.get_by_role("heading", name="Quotes from Salesforce").wait_for()
    assert page.locator("#automation").get_attribute("data-state") == "none"

    page.check("#opportunity_to_quote")
    page.select_option("#trigger_stage", "Proposal")
    page.select_option("select[name=condition-0-field]", "Amount")
    page.select_option("select[name=condition-0-operator]", ">")
    page.fill("input[name=condition-0-value]", "10000")
    page.select_option("select[name=mapping-0-sf_field]", "Type")
    page.select_option("select[name=mapping-0-target]", "custom:deal_type")
    page.select_option("#owner", str(alice.member.pk))
    page.click("#quote-settings-save")
    page.locator("#automation[data-state='ok']").wait_for()
    assert "flow new version (version 1)" in page.locator(".flash-stack, .flash").first.inner_text()
    assert "Type" in page.locator("#automation-message").inner_text()
    saved = QuoteSettings.objects.get(connection=connected)
    assert saved.field_mappings == [{"sf_field": "Type", "target": "custom:deal_type"}]
    screenshot(page, "quote-settings")

    page.select_option("select[name=condition-0-field]", "NextStep")
    page.click("#quote-settings-save")
    page.locator("#quote-settings-errors").wait_for()
    assert "compares numbers only" in page.locator("#condition-0").inner_text()
    screenshot(page, "quote-settings-error")
    saved.refresh_from_db()
    assert saved.conditions == [{"field": "Amount", "operator": ">", "value": "10000"}]
