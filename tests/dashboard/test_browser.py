"""The Dashboard in a real browser: Chart.js draws every chart from the page's JSON (no inline
script), the filters reload the figures; and the API-usage chart's axis. Screenshots in
test-artifacts/ (dashboard-*.png, api-usage.png)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from opportunities.dashboard import quarter_of
from tests.browser.test_content_security_policy import csp_page  # noqa: F401 - the fixture (policy enforced)
from opportunities.models import Opportunity
from tests.web.test_sync_pages import _connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _this_quarter(tenant, departments):
    """A few more opportunities closing in the real current quarter, changed status this month."""
    today = timezone.localdate()
    start, end = quarter_of(today)
    now = timezone.now().isoformat()
    for n, (status, score, low, high) in enumerate([("submitted", 92, 250_000, 400_000), ("pursuing", 64, 90_000, 120_000),
                                                     ("won", 81, 700_000, 900_000), ("lost", 40, 50_000, 80_000)]):
        Opportunity.objects.create(
            tenant=tenant, title=f"Quarter opportunity {n + 1}", reference=f"Q-{n + 1}", status=status, category="it",
            department=departments[n % len(departments)], closing_date=min(end, start + datetime.timedelta(days=20 * n + 5)),
            value_min=low, value_max=high, compliance_score=score, field_changed_at={"status": now})


def test_the_dashboard_draws_its_charts_and_filters(page, live_server, login, screenshot, alice, board):
    _this_quarter(alice.tenant, [board["ssc"], board["pspc"], board["dnd"]])
    login(page, alice.viewer)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")
    for name in ("funnel", "compliance", "departments", "win-rate", "gauge"):
        canvas = page.locator(f"#chart-{name}")
        assert canvas.count() == 1
        page.wait_for_function(f"() => window.Chart && !!window.Chart.getChart(document.getElementById('chart-{name}'))")
    kinds = page.evaluate("() => ['funnel','compliance','departments','win-rate','gauge'].map("
                          "n => window.Chart.getChart(document.getElementById('chart-' + n)).config.type)")
    assert kinds == ["bar", "bar", "bar", "bar", "doughnut"]
    assert page.evaluate("() => window.Chart.getChart(document.getElementById('chart-departments')).options.indexAxis") == "y"
    # Floating bars centred on the axis: each stage's width is its count.
    funnel_counts = page.evaluate("() => window.Chart.getChart(document.getElementById('chart-funnel')).data.datasets[0].data"
                                  ".map(([low, high]) => high - low)")
    assert sum(funnel_counts) == 10 + 3  # 10 of the fixture not lost, 3 of this quarter
    assert page.locator("[data-testid=closing-table] tbody tr").count() >= 4
    screenshot(page, "dashboard-01")

    # The accessible tables carry the same figures.
    page.locator("[data-panel=compliance] details summary").click()
    assert "Unscored" in page.locator("[data-panel=compliance] details table").inner_text()

    page.select_option("#id_department", label="Shared Services Canada")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/dashboard/?department=*")
    page.wait_for_function("() => window.Chart && !!window.Chart.getChart(document.getElementById('chart-departments'))")
    labels = page.evaluate("() => window.Chart.getChart(document.getElementById('chart-departments')).data.labels")
    assert labels == ["Shared Services Canada"]
    screenshot(page, "dashboard-02-filtered")

    page.fill("#id_closing_from", "2026-06-01")
    page.fill("#id_closing_to", "2026-05-01")
    page.get_by_role("button", name="Apply").click()
    errors = page.get_by_test_id("filter-errors")
    assert "Closing to: Must be on or after" in errors.inner_text() and page.locator("canvas").count() == 0
    screenshot(page, "dashboard-03-bad-filter")


def test_api_usage_page_screenshot(page, live_server, login, screenshot, alice):
    from sync_engine.models import ApiCallBucket

    conn = _connection(alice.tenant, api_usage_used=420, api_usage_max=15000)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for back, kind, calls in [(0, "realtime", 6), (0, "full", 4), (2, "incremental", 3), (5, "manual", 7), (9, "realtime", 2)]:
        ApiCallBucket.objects.create(connection=conn, hour=hour - datetime.timedelta(hours=back), kind=kind, calls=calls)
    login(page, alice.viewer)
    page.goto(f"{live_server.url}/sync/connections/{conn.pk}/usage/")
    labels = page.locator(".usage-chart svg text[text-anchor=end]").all_text_contents()
    assert labels == ["0", "2", "4", "6", "8", "10"]
    screenshot(page, "api-usage")


def test_the_charts_draw_under_the_content_security_policy(csp_page, live_server, login, alice, board):  # noqa: F811
    """No inline script and no CDN: Chart.js and charts.js are static files, the figures JSON."""
    page = csp_page
    login(page, alice.viewer)
    response = page.goto(f"{live_server.url}/dashboard/")
    assert "script-src 'self'" in response.headers["content-security-policy"].replace('"', "'")
    drawn = False
    for _ in range(50):  # no wait_for_function: Playwright polls it with eval, which the policy refuses
        drawn = page.evaluate("() => !!(window.Chart && window.Chart.getChart(document.getElementById('chart-funnel')))")
        if drawn:
            break
        page.wait_for_timeout(100)
    assert drawn
    page.check_csp("dashboard")
