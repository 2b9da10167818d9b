"""The Conflicts page in a browser: a held conflict is resolved from the queue, a bad entered
value is refused next to its field, the record page lists its open conflicts, and the page fits
a phone (issue 17)."""

from __future__ import annotations

import pytest

from cothon.templatetags.cothon_ui import display_name
from opportunities.models import Opportunity
from sync_engine.models import SyncConflict
from tests.web.test_conflict_pages import _conflict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_resolves_held_conflicts_on_the_page(page, live_server, login, screenshot, alice, opportunity_factory):
    date = _conflict(alice, opportunity_factory, field="CloseDate", cothon_field="closing_date", cothon="2026-05-01",
                     salesforce="2026-06-01", base="2026-04-01", title="Harbour dredging 2026")
    text = _conflict(alice, opportunity_factory, cothon="Scope: two berths", salesforce="Scope: three berths and the quay wall",
                     base="Scope: berths", title="Ferry terminal lighting")
    SyncConflict.objects.filter(pk=text.pk).update(cothon_changed_by=alice.member)  # who changed Cothon's side
    login(page, alice.admin)
    assert page.locator(".nav-count").inner_text() == "2"
    url = f"{live_server.url}/settings/integrations/salesforce/{date.connection_id}/conflicts/"
    page.goto(url)
    assert page.get_by_role("link", name="Conflicts").get_attribute("aria-current") == "page"
    cothon_cells = page.locator(f'tr[data-conflict-id="{text.pk}"] td.conflict-value')
    assert f"by: {display_name(alice.member)}" in cothon_cells.nth(1).inner_text()
    assert "by: not recorded" in page.locator(f'tr[data-conflict-id="{date.pk}"] td.conflict-value').nth(1).inner_text()
    screenshot(page, "conflicts-01-queue")

    # Filtering swaps the queue in place (htmx) and keeps the URL shareable.
    page.fill("#conflict-field", "closedate")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**field=closedate**")
    assert page.locator("tr[data-conflict-id]").count() == 1
    page.goto(url)

    # An entered value Cothon cannot take: refused next to its field, nothing resolved.
    row = page.locator(f'tr[data-conflict-id="{date.pk}"]')
    row.locator("summary", has_text="Enter a value").click()
    row.get_by_label("Value for CloseDate").fill("next tuesday")
    row.get_by_role("button", name="Keep this value").click()
    error = page.locator(f"#value-{date.pk}-error")
    assert error.is_visible() and "CloseDate" in error.inner_text()
    assert page.get_by_test_id("resolve-error").is_visible()
    screenshot(page, "conflicts-02-bad-value")
    assert SyncConflict.objects.get(pk=date.pk).status == "open"

    # Select one and keep Salesforce's value.
    page.goto(url)
    page.locator(f'tr[data-conflict-id="{text.pk}"] input[type=checkbox]').check()
    page.locator(".conflict-bulk-bar").get_by_role("button", name="Keep Salesforce").click()
    page.wait_for_selector(".alert-success, .toast, [role=status]")
    assert "Resolved 1 conflict" in page.inner_text("body")
    assert Opportunity.objects.get(pk=text.record_id).description == "Scope: three berths and the quay wall"
    assert page.locator(f'tr[data-conflict-id="{text.pk}"]').count() == 0
    assert page.locator(".nav-count").inner_text() == "1"
    screenshot(page, "conflicts-03-resolved")

    # The record page lists its open conflict; an admin keeps Cothon's value there.
    page.goto(f"{live_server.url}/opportunities/{date.record_id}/")
    panel = page.get_by_test_id("record-conflicts")
    assert "CloseDate" in panel.inner_text()
    screenshot(page, "conflicts-04-record-panel")
    panel.get_by_role("button", name="Keep Cothon").click()
    page.wait_for_url(f"{live_server.url}/opportunities/{date.record_id}/")
    assert page.get_by_test_id("record-conflicts").count() == 0
    assert SyncConflict.objects.get(pk=date.pk).resolution == "keep_cothon"

    # Resolved ones stay in the history filter; the page fits a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url + "?status=all")
    assert page.locator("tr[data-conflict-id]").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "conflicts-05-phone")
