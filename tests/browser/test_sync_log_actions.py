"""The sync log's errors by cause in a real browser: an admin sees the failing groups above the
rows, retries one group (a confirmation with the count, then the result message), and the
records are queued for the worker. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def _seed(alice, opportunity_factory, department_factory):
    from integrations.models import SalesforceConnection
    from integrations.salesforce.errors import HINTS
    from sync_engine.models import SyncLog

    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Production org", login_url="https://login.salesforce.com", environment="production",
        instance_url="https://alice.my.salesforce.com", status="connected", is_default=True)
    titles = ["Cloud hosting services for Shared Services Canada", "Network modernization — DND", "Translation services (RFQ)",
              "Bridge inspection, Ottawa region", "Snow removal, depot 4"]
    opportunities = [opportunity_factory(alice.tenant, title=t) for t in titles]
    department = department_factory(alice.tenant, "Transport Canada")
    start = timezone.now() - datetime.timedelta(hours=6)
    rows = []

    def add(minutes, record_type, record_id, label, result, code="", message="", sf_id="", attempts=1, waited_ms=900):
        at = start + datetime.timedelta(minutes=minutes)
        rows.append((at, SyncLog(tenant=alice.tenant, connection=connection, record_type=record_type, record_id=record_id,
                                 record_label=label, sobject="Account" if record_type == "department" else "Opportunity",
                                 salesforce_id=sf_id, direction="push", operation="upsert", result=result, error_code=code,
                                 error_message=message, hint=HINTS.get(code, ""), duration_ms=240, api_calls=1,
                                 attempts=attempts, retries=max(0, attempts - 1),
                                 queued_at=at - datetime.timedelta(milliseconds=waited_ms))))

    for i, opp in enumerate(opportunities):
        add(10 * i, "opportunity", opp.pk, opp.title, "success", sf_id=f"006{opp.pk:015d}")
    for i, opp in enumerate(opportunities[:3]):
        add(60 + 5 * i, "opportunity", opp.pk, opp.title, "failed", "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Cothon_Method__c]", attempts=1, waited_ms=3200)
    add(80, "opportunity", opportunities[3].pk, opportunities[3].title, "failed", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Amount must be positive for government pipeline", attempts=2, waited_ms=12400)
    add(90, "department", department.pk, department.name, "failed", "INSUFFICIENT_ACCESS_OR_READONLY",
        "insufficient access rights on object id", attempts=1)
    add(100, "opportunity", opportunities[4].pk, opportunities[4].title, "success", sf_id=f"006{opportunities[4].pk:015d}",
        attempts=3, waited_ms=41000)
    made = SyncLog.objects.bulk_create([log for _, log in rows])
    for (at, _), log in zip(rows, made):
        SyncLog.objects.filter(pk=log.pk).update(created_at=at)
    return connection, opportunities


def test_an_admin_retries_one_error_group_from_the_log(page, live_server, login, alice, opportunity_factory,
                                                        department_factory, screenshot):
    from sync_engine.models import OutboxEntry, SyncLog

    connection, opportunities = _seed(alice, opportunity_factory, department_factory)
    login(page, alice.admin)
    page.goto(f"{live_server.url}/sync/logs/")
    panel = page.get_by_test_id("error-groups")
    assert panel.is_visible()
    groups = panel.locator("tbody tr")
    assert groups.count() == 3
    required = panel.locator("tr", has_text="REQUIRED_FIELD_MISSING")
    assert required.locator("td.num").all_inner_texts()[:3] == ["3", "3", "3"]
    assert page.get_by_text("waited 3.2 s · attempt 1").first.is_visible()
    screenshot(page, "sync-logs-errors-by-cause")

    required.get_by_role("link", name="Retry 3").click()
    page.wait_for_url("**/sync/logs/failed/retry/?group=*")
    assert page.get_by_test_id("confirm-count").inner_text() == "3 records will be retried"
    screenshot(page, "sync-logs-retry-confirm")
    assert not OutboxEntry.objects.exists()

    page.get_by_test_id("confirm-submit").click()
    page.wait_for_url(f"{live_server.url}/sync/logs/")
    assert page.get_by_text("Retrying 3 records").is_visible()
    # The group now says its records are queued again instead of offering Retry twice.
    after = page.get_by_test_id("error-groups").locator("tr", has_text="REQUIRED_FIELD_MISSING")
    assert after.get_by_text("3 queued again").is_visible() and after.get_by_text("Queued again", exact=True).is_visible()
    assert after.get_by_role("link", name="Retry 3").count() == 0
    screenshot(page, "sync-logs-retry-done")
    queued = set(OutboxEntry.objects.filter(connection=connection, state="pending").values_list("record_id", flat=True))
    assert queued == {o.pk for o in opportunities[:3]}
    assert SyncLog.objects.filter(operation="retry", actor=alice.admin).count() == 3
    # The retry rows show in the log, naming who asked.
    assert page.get_by_text("Retry requested by").first.is_visible()
