"""The Sync health page in a real browser, on a connection connected to the emulator: the body
polls every 10 s, so a quota pause shows as "Paused" and the recovery as "Connected" without a
reload. Screenshots (healthy, paused, warning with errors, the Sync overview) go to test-artifacts/."""

from __future__ import annotations

import datetime
import time

import pytest
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]


def _logs(connection, *, at, n, result="success", code="", direction="push", latency_s=None):
    from sync_engine.models import SyncLog

    made = SyncLog.objects.bulk_create([SyncLog(tenant_id=connection.tenant_id, connection=connection, operation="upsert",
                                                result=result, error_code=code, direction=direction) for _ in range(n)])
    queued = at - datetime.timedelta(seconds=latency_s) if latency_s is not None else None
    SyncLog.objects.filter(pk__in=[row.pk for row in made]).update(created_at=at, queued_at=queued)


def test_a_quota_pause_and_its_recovery_show_without_a_reload(page, live_server, login, alice, connected, screenshot):
    from playwright.sync_api import expect

    from sync_engine.governor import get_governor

    now = timezone.now()
    _logs(connected, at=now - datetime.timedelta(minutes=4), n=12, latency_s=1.5)
    _logs(connected, at=now - datetime.timedelta(minutes=9), n=4, direction="pull", latency_s=25)
    login(page, alice.viewer)
    page.goto(f"{live_server.url}/sync/connections/{connected.pk}/health/")
    body = page.locator("#sync-health")
    expect(body).to_have_attribute("data-health", "healthy")
    expect(body.locator(".health-status .health-pill")).to_have_text("Connected")
    expect(page.locator("[data-testid=health-latency] tr[data-direction=push]")).to_contain_text("≤ 2 s")
    updated = page.locator("[data-testid=health-updated] time").inner_text()
    screenshot(page, "sync-health-healthy")

    # The org's allowance is spent: the governor pauses the connection (as after REQUEST_LIMIT_EXCEEDED).
    get_governor().pause(connected.pk, 600, resume_estimate=time.time() + 2 * 3600)
    expect(body).to_have_attribute("data-health", "paused", timeout=25_000)  # the next poll, no reload
    expect(body.locator(".health-status .health-pill")).to_contain_text("Paused until ~")
    expect(body.locator("[data-reason=quota_paused]")).to_contain_text("daily API allowance is used up")
    assert page.locator("[data-testid=health-updated] time").inner_text() != updated
    screenshot(page, "sync-health-paused")

    get_governor().resume(connected.pk)
    expect(body).to_have_attribute("data-health", "healthy", timeout=25_000)
    expect(body.locator(".health-status .health-pill")).to_have_text("Connected")


def test_warning_with_errors_and_the_overview(page, live_server, login, alice, connected, screenshot):
    from playwright.sync_api import expect

    from sync_engine.models import ApiCallBucket, LinkStatus, SyncLink, SyncRun, SyncRunKind, SyncRunStatus

    now = timezone.now()
    # A 4% week, then 23% failing in the last hour: an error-rate jump (Warning).
    _logs(connected, at=now - datetime.timedelta(days=2), n=195, latency_s=3)
    _logs(connected, at=now - datetime.timedelta(days=2), n=5, result="failed", code="UNABLE_TO_LOCK_ROW")
    _logs(connected, at=now - datetime.timedelta(minutes=8), n=14, latency_s=4)
    _logs(connected, at=now - datetime.timedelta(minutes=7), n=4, result="failed", code="REQUIRED_FIELD_MISSING")
    _logs(connected, at=now - datetime.timedelta(minutes=6), n=2, result="retrying", code="UNABLE_TO_LOCK_ROW")
    _logs(connected, at=now - datetime.timedelta(minutes=20), n=6, direction="pull", latency_s=40)
    _logs(connected, at=now - datetime.timedelta(days=3), n=3, result="failed", code="FIELD_CUSTOM_VALIDATION_EXCEPTION")
    SyncLink.objects.create(tenant=alice.tenant, connection=connected, record_type="opportunity", record_id=1,
                            sobject="Opportunity", status=LinkStatus.FAILED, last_error_code="REQUIRED_FIELD_MISSING")
    SyncRun.objects.create(tenant=alice.tenant, connection=connected, kind=SyncRunKind.INCREMENTAL,
                           status=SyncRunStatus.SUCCEEDED, finished_at=now - datetime.timedelta(minutes=6))
    SyncRun.objects.create(tenant=alice.tenant, connection=connected, kind=SyncRunKind.RECONCILIATION,
                           status=SyncRunStatus.SUCCEEDED, finished_at=now - datetime.timedelta(minutes=35))
    hour = now.replace(minute=0, second=0, microsecond=0)
    for back, calls in ((0, 40), (1, 120), (2, 90)):
        ApiCallBucket.objects.update_or_create(connection=connected, hour=hour - datetime.timedelta(hours=back), kind="realtime",
                                               defaults={"calls": calls})
    login(page, alice.admin)
    page.goto(f"{live_server.url}/sync/connections/{connected.pk}/health/")
    body = page.locator("#sync-health")
    expect(body).to_have_attribute("data-health", "warning")
    expect(body.locator("[data-reason=error_rate_jump]")).to_contain_text("Error rate up: 23%")
    expect(body.locator("[data-reason=records_failing]")).to_be_visible()
    errors = page.locator("[data-testid=health-errors]")
    expect(errors.locator("tr[data-code=REQUIRED_FIELD_MISSING]")).to_contain_text("Required field not provided")
    expect(errors.locator("tr[data-code=UNABLE_TO_LOCK_ROW]")).to_contain_text("Retry sync after a few minutes")
    expect(page.locator("[data-testid=health-schedules] tr[data-schedule=validation]")).to_contain_text("Never")
    screenshot(page, "sync-health-warning")

    errors.locator("tr[data-code=REQUIRED_FIELD_MISSING] a").click()
    page.wait_for_url("**/sync/logs/?*error_code=REQUIRED_FIELD_MISSING*")
    expect(page.locator("#sync-log-results tbody tr[data-log-id]")).to_have_count(4)

    page.goto(f"{live_server.url}/sync/")
    card = page.locator("[data-testid=connection-health]").first
    expect(card.locator(".health-pill")).to_have_text("Warning")
    expect(card).to_contain_text("Error rate up")
    screenshot(page, "sync-overview-health")
    page.get_by_role("link", name="Health").first.click()
    page.wait_for_url(f"**/sync/connections/{connected.pk}/health/")

    page.goto(f"{live_server.url}/settings/integrations/")
    expect(page.locator("[data-testid=connection-health] .health-pill").first).to_have_text("Warning")
    screenshot(page, "integrations-health")
