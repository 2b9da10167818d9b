"""Drift reports in a browser: the daily validation run against a hand-built drift in the
emulator, then read by an admin — counts, examples with links to both records, and a truncated
read's warning (issue 17)."""

from __future__ import annotations

import pytest

from sync_engine.validation.services import validation_run, validation_start
from tests.sync_engine.validation.conftest import drift, linked  # noqa: F401 - fixtures shared with the service tests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _validate(connection):
    return validation_run(report_id=validation_start(connection=connection, enqueue=False).pk)


def test_an_admin_reads_the_drift_report_and_a_truncated_one_warns(page, live_server, login, screenshot, alice, connected,
                                                                   drift, emulator_reset):  # noqa: F811 - the imported fixture
    emulator_reset.client.add_fault(operation="bulk", path_contains="/results", status=503)
    try:
        truncated = _validate(connected)
    finally:
        emulator_reset.client.clear_faults()
    report = _validate(connected)
    assert (truncated.status, report.status) == ("truncated", "complete")

    login(page, alice.admin)
    page.goto(f"{live_server.url}/sync/connections/{connected.pk}/sync-now/")
    page.get_by_role("link", name="Drift reports").click()
    page.wait_for_url(f"**/sync/connections/{connected.pk}/drift-reports/")
    rows = page.locator(".drift-reports-table tbody tr")
    assert rows.count() == 2 and "Truncated read" in rows.nth(1).inner_text() and "Complete" in rows.nth(0).inner_text()
    screenshot(page, "drift-01-list")

    rows.nth(0).get_by_role("link").click()
    counts = page.get_by_test_id("drift-counts")
    assert [s.inner_text() for s in counts.locator(".stat-value").all()] == ["1", "1", "2", "1"]
    link = page.get_by_role("link", name=drift.salesforce_changed.title).first
    assert link.get_attribute("href") == f"/opportunities/{drift.salesforce_changed.pk}/"
    sf_link = page.get_by_role("link", name=drift.orphan_sf_id)
    assert f"/lightning/r/Opportunity/{drift.orphan_sf_id}/view" in sf_link.get_attribute("href")
    assert page.get_by_test_id("truncated-warning").count() == 0
    screenshot(page, "drift-02-report")

    page.goto(f"{live_server.url}/sync/connections/{connected.pk}/drift-reports/{truncated.pk}/")
    warning = page.get_by_test_id("truncated-warning")
    assert "no link was marked deleted" in warning.inner_text()
    screenshot(page, "drift-03-truncated")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/sync/connections/{connected.pk}/drift-reports/{report.pk}/")
    screenshot(page, "drift-04-phone")
