"""A person edits an opportunity in the emulator's record viewer: Edit, change Stage, Save, and
the record page shows the new stage; a validation rule's message shows on the form."""

from __future__ import annotations

import pytest

from tests.emulator.test_tooling_flow import _opp

pytestmark = pytest.mark.emulator


def test_edit_an_opportunity_stage_in_the_viewer(emulator_reset, page, screenshot):
    handle = emulator_reset
    opp = _opp(handle.sf(), "Bridge inspection, Ottawa region", Amount=25000)
    page.goto(f"{handle.http_url}/lightning/o/Opportunity/list?org=demo")
    page.get_by_role("link", name="Bridge inspection, Ottawa region").click()
    page.wait_for_url(f"**/lightning/r/Opportunity/{opp}/view")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"**/lightning/r/Opportunity/{opp}/edit")
    assert page.get_by_label("Stage").input_value() == "Prospecting"
    page.get_by_label("Amount").fill("-1")
    page.get_by_label("Stage").select_option("Proposal")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("alert").inner_text().startswith("We hit a snag.")
    assert page.locator(".has-error .field-error").inner_text() == "Amount must not be negative."
    assert page.get_by_label("Stage").input_value() == "Proposal"  # what was entered is kept
    screenshot(page, "emulator-viewer-edit-error")
    page.get_by_label("Amount").fill("25000")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/lightning/r/Opportunity/{opp}/view")
    stage = page.locator("dl.fields div").filter(has=page.locator("dt", has_text="Stage"))
    assert stage.first.locator("dd").inner_text() == "Proposal"
    screenshot(page, "emulator-viewer-edited")
    assert handle.sf().Opportunity.get(opp)["StageName"] == "Proposal"


def test_new_opportunity_from_the_list_view(emulator_reset, page, screenshot):
    handle = emulator_reset
    page.goto(f"{handle.http_url}/lightning/o/Opportunity/list?org=demo")
    screenshot(page, "emulator-viewer-list")
    page.get_by_role("link", name="New").click()
    page.wait_for_url("**/lightning/o/Opportunity/new?org=demo")
    page.get_by_role("textbox", name="Name", exact=True).fill("Created at Proposal")
    page.get_by_label("Stage").select_option("Proposal")
    page.get_by_label("Close Date").fill("2031-03-31")
    page.get_by_label("Amount").fill("42000")
    screenshot(page, "emulator-viewer-new")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/lightning/r/Opportunity/*/view")
    assert page.get_by_role("heading", name="Created at Proposal").is_visible()
