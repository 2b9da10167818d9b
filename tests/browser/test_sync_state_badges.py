"""The sync state badge in a real browser: each state in the opportunity list as an icon and a
word a screen reader reads, and on the record's Salesforce panel. Screenshots go to
test-artifacts/ for a person to look at."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from sync_engine.fanout import fan_out_pending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def _world(alice, opportunity_factory):
    from integrations.models import SalesforceConnection
    from integrations.sync_settings import settings_ensure_initial
    from opportunities.models import Opportunity
    from sync_engine.models import OutboxEntry, SyncLink, SyncLog

    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Production org", login_url="https://login.salesforce.com", environment="production",
        instance_url="https://alice.my.salesforce.com", status="connected", is_default=True)
    settings_ensure_initial(connection=connection)
    titles = ["Cloud hosting services", "Translation services", "Lab equipment supply", "Fleet telematics",
              "Security guard services", "Snow removal"]
    opps = [opportunity_factory(alice.tenant, title=t, assignee=alice.member if i == 3 else None) for i, t in enumerate(titles)]
    fan_out_pending()
    OutboxEntry.objects.all().delete()
    Opportunity.objects.update(updated_at=timezone.now() - datetime.timedelta(hours=2))
    recent = timezone.now() - datetime.timedelta(minutes=20)

    def link(opp, **fields):
        SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=opp.pk,
                                sobject="Opportunity", salesforce_id=f"006{opp.pk:015d}", **fields)

    link(opps[0], status="synced", last_synced_at=recent)                                     # in sync
    link(opps[1], status="synced", last_synced_at=recent)                                     # pending
    OutboxEntry.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=opps[1].pk,
                               event="updated", available_at=timezone.now())
    OutboxEntry.objects.filter(record_id=opps[1].pk).update(created_at=timezone.now() - datetime.timedelta(minutes=4))
    link(opps[2], status="failed", last_synced_at=recent, last_error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
         last_error_message="Amount must be positive for government pipeline")                # failed
    link(opps[3], status="deleted_in_sf", last_synced_at=recent)                              # deleted in Salesforce
    SyncLog.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=opps[4].pk,
                           operation="skip", result="skipped", error_code="FILTERED",
                           error_message="Below the connection's minimum value (50,000 CAD).")  # skipped
    return connection, opps                                                                   # opps[5]: not synced


def test_each_sync_state_is_a_labelled_badge_in_the_list_and_on_the_panel(page, live_server, login, screenshot, alice,
                                                                           opportunity_factory):
    _, opps = _world(alice, opportunity_factory)
    login(page, alice.admin)
    page.goto(f"{live_server.url}/opportunities/?sort=title")
    badges = page.locator("#opportunity-results .sync-badge")
    assert badges.count() == 6
    visible_word = "e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim()"
    words = {page.locator(f"#opportunity-results .sync-badge[data-sync-state='{s}']").evaluate(visible_word)
             for s in ("in_sync", "pending", "failed", "deleted_in_salesforce", "skipped", "not_synced")}
    assert words == {"In sync", "Pending · 4 min", "Failed", "Deleted in Salesforce", "Skipped", "Not synced"}
    # A screen reader hears the state and its reason, not an unlabelled picture.
    failed = page.locator("#opportunity-results .sync-badge[data-sync-state='failed']")
    assert "Salesforce: Failed" in failed.text_content() and "Amount must be positive" in failed.text_content()
    assert page.get_by_role("columnheader", name="Salesforce").is_visible()
    screenshot(page, "sync-state-list")

    page.goto(f"{live_server.url}/opportunities/{opps[2].pk}/")
    panel = page.locator("#salesforce-panel")
    assert panel.locator(".sync-badge[data-sync-state='failed']").count() == 1
    assert panel.get_by_text("Amount must be positive for government pipeline").count() == 1
    screenshot(page, "sync-state-panel-failed")

    page.goto(f"{live_server.url}/opportunities/{opps[3].pk}/")
    assert page.locator("#salesforce-panel [data-testid='unmapped-assignee']").is_visible()
    screenshot(page, "sync-state-panel-deleted-unmapped")

    page.goto(f"{live_server.url}/opportunities/{opps[1].pk}/")
    assert page.locator("#salesforce-panel .sync-badge[data-sync-state='pending']").first.is_visible()
    screenshot(page, "sync-state-panel-pending")
