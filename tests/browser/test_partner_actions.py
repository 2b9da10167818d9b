"""Issue 17 in a real browser: an opportunity deleted in Salesforce is re-linked from its
Salesforce panel (search, Link) and a real worker pushes it, after which the panel says "In
sync"; and the settings history's Compare page. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from sync_engine.models import LinkStatus, SyncLink
from tests.conftest import salesforce_opportunity
from tests.sync_engine.workers import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def test_a_record_deleted_in_salesforce_is_relinked_by_search_and_ends_in_sync(page, live_server, login, screenshot, alice,
                                                                                connected, emulator_reset, deleted_in_salesforce):
    from playwright.sync_api import expect

    opportunity, dead = deleted_in_salesforce
    target = salesforce_opportunity(emulator_reset)
    login(page, alice.member)
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/")
    panel = page.locator("#salesforce-panel")
    expect(panel.locator(".sync-badge")).to_contain_text("Deleted in Salesforce")
    expect(panel.locator("[data-testid=partner-deleted]")).to_be_visible()
    screenshot(page, "partner-deleted-panel")

    panel.locator("summary", has_text="Re-link to another Salesforce opportunity").click()
    panel.locator("#relink-title").fill("Ottawa region")
    panel.locator("button", has_text="Search").click()
    candidates = panel.locator("[data-testid=relink-candidates] li")
    expect(candidates).to_have_count(1)
    expect(candidates.first).to_contain_text("Bridge inspection, Ottawa region")
    expect(candidates.first).to_contain_text("LEGACY-77")
    screenshot(page, "partner-relink-search")

    worker = Worker(queues="realtime").start()
    try:
        candidates.first.locator("button", has_text="Link").click()
        expect(page.locator(".alert, .messages, [role=status]").first).to_contain_text(f"Re-linked to {target}")
        # The push goes through the outbox and the woken worker; the panel refreshes itself when it lands.
        expect(page.locator("#salesforce-panel .sync-badge").first).to_contain_text("In sync", timeout=30_000)
    finally:
        worker.stop()
    expect(page.locator("#salesforce-panel")).to_contain_text(target)
    expect(page.locator("#salesforce-panel")).to_contain_text("Re-linked by hand")
    screenshot(page, "partner-relinked-in-sync")
    link = SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk)
    assert link.status == LinkStatus.SYNCED and link.salesforce_id == target
    [record] = emulator_reset.sf().query(f"SELECT Name, Cothon_Ref__c FROM Opportunity WHERE Id = '{target}'")["records"]
    assert record["Name"] == "Bridge inspection services" and record["Cothon_Ref__c"] == opportunity.reference


def test_the_settings_compare_page_renders_the_differences_in_words(page, live_server, login, screenshot, alice):
    from playwright.sync_api import expect

    from integrations.models import SalesforceConnection
    from integrations.sync_settings import settings_current, settings_ensure_initial, settings_save

    connection = SalesforceConnection.objects.create(tenant=alice.tenant, name="Production org", is_default=True,
                                                     login_url="https://login.salesforce.com", status="connected",
                                                     instance_url="https://alice.my.salesforce.com")
    first = settings_ensure_initial(connection=connection)
    data = settings_current(connection=connection)
    data["direction"], data["activity"]["mode"], data["conflict_rules"]["StageName"] = "push", "notes", "cothon_wins"
    settings_save(connection=connection, data=data, actor=alice.admin, against_org=False)

    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/salesforce/{connection.pk}/settings/history/")
    page.locator("a", has_text="Compare with the settings in force").first.click()
    diff = page.locator("[data-testid=settings-diff]")
    expect(diff).to_contain_text("Sync direction")
    expect(diff).to_contain_text("Log activities as")
    expect(page.locator("h2#compare-heading")).to_contain_text(f"Version {first.version} → version 2 (in force)")
    screenshot(page, "settings-compare")


def test_the_sync_pages_list_of_deleted_records_renders_with_its_bulk_actions(page, live_server, login, screenshot, alice,
                                                                               connected, deleted_in_salesforce):
    from playwright.sync_api import expect

    opportunity, dead = deleted_in_salesforce
    login(page, alice.admin)
    page.goto(f"{live_server.url}/sync/")
    expect(page.locator("[data-testid=partner-gone]")).to_contain_text("1 deleted in Salesforce")
    page.locator("[data-testid=partner-gone] a").click()
    table = page.locator("[data-testid=deleted-form] tbody tr")
    expect(table).to_have_count(1)
    expect(table.first).to_contain_text(dead)
    screenshot(page, "partner-gone-list")
    table.first.locator("input[type=checkbox]").check()
    page.locator("button", has_text="Skip selected").click()
    expect(page.locator("[data-testid=skipped-form] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=skipped-form]")).to_contain_text(f"by {alice.admin.get_username()} on ")
    screenshot(page, "partner-gone-skipped")
    assert SyncLink.objects.get(record_type="opportunity", record_id=opportunity.pk).status == LinkStatus.SKIPPED
