"""The emulator's Setup page lists the flows made through the Tooling API (every version with
its status, trigger and entry conditions) beside the outbound messages they send."""

from __future__ import annotations

import pytest

from tests.emulator.test_tooling_flow import FLOW, MESSAGE, _filter, _flow, _message
from tests.emulator.test_tooling_workflow import _admin_sf, _create

pytestmark = pytest.mark.emulator


def test_setup_page_lists_flow_versions_and_messages(emulator_reset, page, screenshot):
    handle = emulator_reset
    admin = _admin_sf(handle)
    _create(admin, MESSAGE, _message("http://127.0.0.1:9/quotes/"))
    _create(admin, FLOW, _flow([_filter("StageName", "EqualTo", stringValue="Negotiation")]))
    _create(admin, FLOW, _flow())
    page.goto(f"{handle.http_url}/")
    page.get_by_role("link", name="Setup: flows, outbound messages and workflow rules").first \
        .click()
    page.wait_for_url("**/lightning/setup/Flows/home?org=demo")
    assert page.get_by_role("heading", name="Flows (2)").is_visible()
    rows = page.locator("table").first.locator("tr")
    assert rows.count() == 3
    newest = rows.nth(1).inner_text()
    for text in ("Cothon Opportunity Flow", "Cothon_Opportunity_Flow", "2", "Active",
                 "Opportunity", "A record is updated, only when updated to meet the conditions",
                 "StageName = “Proposal” AND Amount > 10000",
                 "Opportunity.Cothon_integration"):
        assert text in newest, text
    assert "Obsolete" in rows.nth(2).inner_text()
    assert "Negotiation" in rows.nth(2).inner_text()
    assert page.get_by_role("heading", name="Outbound messages (1)").is_visible()
    assert "http://127.0.0.1:9/quotes/" in page.locator("table").nth(1).inner_text()
    assert page.get_by_text("No workflow rules.").is_visible()
    screenshot(page, "emulator-setup-flows")
    # an edition without flows says so on the page
    handle.client.set_edition("Essentials Edition")
    page.reload()
    assert page.locator(".error").inner_text().startswith(
        "Flows, workflow rules and outbound messages are not available in Essentials Edition")
