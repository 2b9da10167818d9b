"""Sync operations in a real browser: sync logs (filter, Older/Newer, CSV download), the record
Sync button's live status, Sync Now's progress bar and the API usage chart. Screenshots go to
test-artifacts/ for a person to look at."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.utils import timezone

from sync_engine.fanout import fan_out_pending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def _connection(tenant, **fields):
    from integrations.models import SalesforceConnection

    defaults = {"name": "Production org", "login_url": "https://login.salesforce.com", "environment": "production",
                "instance_url": "https://alice.my.salesforce.com", "status": "connected", "is_default": True,
                "api_usage_used": 3120, "api_usage_max": 5000}
    defaults.update(fields)
    return SalesforceConnection.objects.create(tenant=tenant, **defaults)


def _seed_logs(connection, opportunities):
    """A realistic log: mostly successes, some failures with Salesforce codes, a few retries."""
    from integrations.salesforce.errors import HINTS
    from sync_engine.models import SyncLog

    failures = [
        ("REQUIRED_FIELD_MISSING", "Required fields are missing: [CloseDate]"),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Amount must be positive for government pipeline"),
        ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on cross-reference id"),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value for restricted picklist field: Submitted"),
    ]
    rows = []
    start = timezone.now() - datetime.timedelta(hours=30)
    for i in range(160):
        opp = opportunities[i % len(opportunities)]
        failed = i % 3 == 0
        code, message = failures[i % len(failures)] if failed else ("", "")
        retrying = not failed and i % 11 == 0
        rows.append(SyncLog(
            tenant=connection.tenant, connection=connection, record_type="opportunity", record_id=opp.pk,
            record_label=opp.title, sobject="Opportunity", salesforce_id="" if failed else f"006{opp.pk:015d}",
            direction="push" if i % 7 else "pull", operation="upsert" if i % 5 else "update",
            result="failed" if failed else "retrying" if retrying else "success",
            error_code="UNABLE_TO_LOCK_ROW" if retrying else code,
            error_message="unable to obtain exclusive access to this record" if retrying else message,
            hint=HINTS.get("UNABLE_TO_LOCK_ROW" if retrying else code, ""), retries=2 if failed else 0,
            duration_ms=180 + (i * 37) % 900, api_calls=1 + i % 2,
        ))
    logs = SyncLog.objects.bulk_create(rows)
    for n, log in enumerate(logs):
        SyncLog.objects.filter(pk=log.pk).update(created_at=start + datetime.timedelta(minutes=11 * n))
    return logs


def test_sync_logs_filter_page_and_export(page, live_server, login, alice, opportunity_factory, screenshot, tmp_path):
    conn = _connection(alice.tenant)
    opportunities = [opportunity_factory(alice.tenant, title=t) for t in (
        "Cloud hosting services for Shared Services Canada", "Network modernization — DND", "Translation services (RFQ)")]
    opportunities.append(opportunity_factory(alice.tenant, title='=HYPERLINK("http://evil.example","Click")'))
    _seed_logs(conn, opportunities)
    login(page, alice.viewer)

    page.goto(f"{live_server.url}/sync/logs/")
    rows = page.locator("#sync-log-results tbody tr[data-log-id]")
    assert rows.count() == 50
    screenshot(page, "sync-logs")

    page.select_option("select[name=result]", "failed")
    page.wait_for_url("**/sync/logs/?result=failed")
    page.wait_for_function("document.querySelectorAll('#sync-log-results tbody tr[data-log-id]').length === 50"
                           " && [...document.querySelectorAll('#sync-log-results tbody tr[data-log-id] .pill')].every(p => p.textContent.includes('Failed'))")
    first_page = rows.evaluate_all("rs => rs.map(r => r.dataset.logId)")
    screenshot(page, "sync-logs-failed")

    page.get_by_role("link", name="Older").click()
    page.wait_for_url("**before=*")
    page.wait_for_function(f"document.querySelector('#sync-log-results tbody tr[data-log-id]').dataset.logId !== '{first_page[0]}'")
    second_page = rows.evaluate_all("rs => rs.map(r => r.dataset.logId)")
    assert len(second_page) == 4  # 54 failures: 50 + 4
    assert not set(first_page) & set(second_page)
    assert min(map(int, first_page)) > max(map(int, second_page))
    assert "result=failed" in page.url
    screenshot(page, "sync-logs-older")

    page.get_by_role("link", name="Newer").click()
    page.wait_for_url("**after=*")
    page.wait_for_function(f"document.querySelector('#sync-log-results tbody tr[data-log-id]').dataset.logId === '{first_page[0]}'")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.logId)") == first_page

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("sync-logs-alice-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / "export.csv"
    download.save_as(path)
    exported = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(exported) == 1 + 54 and {r[10] for r in exported[1:]} == {"Failed"}
    assert any(r[5].startswith("'=HYPERLINK") for r in exported[1:])

    # Bad input: a clear message, the page still works.
    page.goto(f"{live_server.url}/sync/logs/?date_from=2024-13-45&record=%23abc")
    assert page.get_by_text("Some filters were not applied").is_visible()
    screenshot(page, "sync-logs-bad-filters")


def test_record_sync_button_shows_live_progress_then_the_result(page, live_server, login, alice, opportunity_factory, screenshot):
    from sync_engine.models import OutboxEntry, SyncLink, SyncLog, SyncRun

    conn = _connection(alice.tenant)
    opp = opportunity_factory(alice.tenant, title="Cloud hosting services for Shared Services Canada")
    SyncLog.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                           record_label=opp.title, sobject="Opportunity", operation="upsert", result="failed",
                           error_code="REQUIRED_FIELD_MISSING", error_message="Required fields are missing: [CloseDate]")
    login(page, alice.member)
    page.goto(f"{live_server.url}/opportunities/{opp.pk}/")
    page.locator("#salesforce-panel").get_by_role("button", name="Sync").click()
    status = page.locator("#sf-sync-status")
    status.get_by_text("Syncing…").wait_for()
    run = SyncRun.objects.get(kind="manual_record", record_id=opp.pk)
    assert OutboxEntry.objects.filter(record_id=opp.pk, priority=0, state="pending").exists(), list(OutboxEntry.objects.values_list("record_type", "record_id", "priority", "state", "event"))
    page.locator("#salesforce-panel").screenshot(path=str(_artifact("sync-record-progress")))

    # The worker's part, as the executor writes it: the row leaves the queue, a log row and the link.
    fan_out_pending()
    OutboxEntry.objects.filter(record_id=opp.pk).delete()
    SyncLog.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                           record_label=opp.title, sobject="Opportunity", salesforce_id="006000000000042AAA",
                           operation="upsert", result="success", duration_ms=640, api_calls=1)
    SyncLink.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                            sobject="Opportunity", salesforce_id="006000000000042AAA", status="synced", last_synced_at=timezone.now())
    status.get_by_text("Synced to Salesforce").wait_for(timeout=5000)
    # The whole panel then reloads: its status, Salesforce id and link reflect the sync.
    panel = page.locator("#salesforce-panel")
    panel.locator(".sync-badge[data-sync-state='in_sync']").wait_for()
    assert panel.get_by_role("link", name="Open in Salesforce").first.get_attribute("href") == \
        "https://alice.my.salesforce.com/lightning/r/Opportunity/006000000000042AAA/view"
    assert panel.get_by_text("Synced to Salesforce").is_visible()
    # The history reloads with the new row on top.
    page.locator("#sf-sync-history .sf-history-list li").first.get_by_text("Success").wait_for()
    assert run.pk
    screenshot(page, "sync-record-done")
    page.locator("#salesforce-panel").screenshot(path=str(_artifact("sync-record-panel-done")))


def _artifact(name):
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_sync_now_progress_cancel_and_usage_chart(page, live_server, login, alice, opportunity_factory, screenshot, monkeypatch):
    from sync_engine.models import ApiCallBucket, SyncRun

    from sync_engine.models import SyncLink

    conn = _connection(alice.tenant)
    for i in range(4):
        opp = opportunity_factory(alice.tenant)
        if i < 3:
            SyncLink.objects.create(tenant=alice.tenant, connection=conn, record_type="opportunity", record_id=opp.pk,
                                    sobject="Opportunity", salesforce_id=f"006{opp.pk:015d}",
                                    status="failed" if i == 2 else "synced", last_error_code="REQUIRED_FIELD_MISSING" if i == 2 else "",
                                    last_synced_at=timezone.now())
    SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind="incremental", status="succeeded", total=12,
                           processed=12, succeeded=12, api_calls=3, started_at=timezone.now() - datetime.timedelta(hours=5),
                           finished_at=timezone.now() - datetime.timedelta(hours=5) + datetime.timedelta(seconds=14))
    SyncRun.objects.create(tenant=alice.tenant, connection=conn, kind="full", status="finished_with_errors", total=240,
                           processed=240, succeeded=236, failed=4, api_calls=9, started_at=timezone.now() - datetime.timedelta(hours=26),
                           finished_at=timezone.now() - datetime.timedelta(hours=26) + datetime.timedelta(seconds=95))
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for h in range(30):
        at = hour - datetime.timedelta(hours=h)
        ApiCallBucket.objects.create(connection=conn, hour=at, kind="realtime", calls=20 + (h * 7) % 35)
        if h % 4 == 0:
            ApiCallBucket.objects.create(connection=conn, hour=at, kind="incremental", calls=6 + h % 5)
        if h % 6 == 1:
            ApiCallBucket.objects.create(connection=conn, hour=at, kind="reconciliation", calls=12)
        if h in (2, 3):
            ApiCallBucket.objects.create(connection=conn, hour=at, kind="manual", calls=4)
        if h == 26:
            ApiCallBucket.objects.create(connection=conn, hour=at, kind="full", calls=9)
    login(page, alice.admin)

    page.goto(f"{live_server.url}/sync/connections/{conn.pk}/sync-now/")
    page.get_by_text("Full", exact=True).click()
    page.get_by_role("button", name="Start sync").click()
    page.get_by_text("Full sync started").wait_for()
    run = SyncRun.objects.filter(kind="full").order_by("-id").first()
    SyncRun.objects.filter(pk=run.pk).update(status="running", processed=2, succeeded=2, api_calls=2,
                                             started_at=timezone.now() - datetime.timedelta(seconds=8))
    page.get_by_text("2 / 4 records · 50%").wait_for()
    screenshot(page, "sync-now-running")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel").click()
    # The notice, or (if a progress poll already in flight lands after it) the finished list.
    page.locator("#sync-run-list").get_by_text("Cancelled").or_(page.get_by_text("Sync cancelled.")).first.wait_for()
    run.refresh_from_db()
    assert run.cancel_requested and run.status == "cancelled"
    page.locator("#sync-run-list").get_by_text("Cancelled").wait_for()
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="Start sync")).to_be_enabled()
    screenshot(page, "sync-now-cancelled")

    page.goto(f"{live_server.url}/sync/connections/{conn.pk}/usage/")
    assert page.locator(".usage-chart svg rect.kind-realtime").count() == 24
    screenshot(page, "sync-usage")
    page.get_by_role("link", name="48 h").click()
    assert page.locator(".usage-chart svg rect.kind-full").count() == 1
    # The governor's state as it is after a REQUEST_LIMIT_EXCEEDED: paused until the next
    # capacity check, capacity expected back in three hours (this run's own Redis keys).
    import time

    from sync_engine.governor import get_governor

    governor = get_governor()
    governor.observe(conn.pk, 5000, 5000)
    governor.pause(conn.pk, 300, resume_estimate=time.time() + 3 * 3600)
    page.reload()
    expect(page.get_by_text("Sync is paused, expected to resume ~")).to_be_visible()
    screenshot(page, "sync-usage-paused")
    governor.forget(conn.pk)

    page.goto(f"{live_server.url}/sync/")
    screenshot(page, "sync-index")
    page.goto(f"{live_server.url}/opportunities/")
    screenshot(page, "sync-list-badges")


def test_reconcile_now_queues_a_run_and_recent_runs_show_its_summary(page, live_server, login, alice, screenshot, monkeypatch):
    from integrations.sync_settings import settings_ensure_initial
    from sync_engine import wakeups
    from sync_engine.models import SyncRun

    monkeypatch.setattr(wakeups, "send_named", lambda name, *, args, queue: None)  # no worker here: the run stays queued
    connection = _connection(alice.tenant)
    settings_ensure_initial(connection=connection)
    earlier = timezone.now() - datetime.timedelta(hours=1)
    SyncRun.objects.create(
        tenant=alice.tenant, connection=connection, kind="reconciliation", status="succeeded", total=16, processed=16,
        succeeded=16, api_calls=1, started_at=earlier, finished_at=earlier + datetime.timedelta(seconds=2),
        message="Since 2026-12-06 09:50 UTC. Salesforce: 4 changed record(s) read, 1 applied. "
                "Cothon: 12 changed record(s) examined, 1 re-queued.")
    login(page, alice.admin)
    page.goto(f"{live_server.url}/sync/connections/{connection.pk}/sync-now/")
    card = page.locator("#reconcile-card")
    assert "Finished" in card.inner_text() and "1 re-queued" in card.inner_text()
    assert "1 re-queued" in page.locator("#sync-run-list").inner_text()
    screenshot(page, "sync-reconcile-card")
    card.get_by_role("button", name="Reconcile now").click()
    page.wait_for_load_state()
    assert "Reconciliation queued" in page.content()
    assert page.locator("#reconcile-card button").is_disabled()
    assert SyncRun.objects.filter(connection=connection, kind="reconciliation", status="queued").count() == 1
    screenshot(page, "sync-reconcile-queued")
