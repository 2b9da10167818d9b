"""The opportunity pages in a real browser: log in, create, validate inline, filter with HTMX.

Each main page is saved as a screenshot in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import datetime
import os
import re

import pytest
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _opportunities():
    from opportunities.models import Opportunity

    return Opportunity.objects.all()


def test_member_logs_in_and_creates_an_opportunity(page, live_server, alice, department_factory, login, screenshot):
    department_factory(alice.tenant, name="Shared Services Canada")
    page.goto(f"{live_server.url}/")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    screenshot(page, "01-login")
    login(page, alice.member)
    assert page.locator("h1").inner_text() == "Opportunities"
    screenshot(page, "02-list-empty")

    page.get_by_role("link", name="New opportunity").first.click()
    page.wait_for_url(f"{live_server.url}/opportunities/new/")

    # Inline validation: a title left empty is reported when the field is left.
    page.focus("#id_title")
    page.press("#id_title", "Tab")
    page.wait_for_selector("#id_title-errors li")
    assert "Title is required." in page.inner_text("#id_title-errors")

    page.fill("#id_title", "Cloud hosting for SSC")
    page.press("#id_title", "Tab")
    page.wait_for_function("document.querySelector('#id_title-errors').children.length === 0")

    # Minimum above maximum: the maximum field says so, before anything is submitted.
    page.fill("#id_value_min", "500000")
    page.fill("#id_value_max", "100000")
    page.press("#id_value_max", "Tab")
    page.wait_for_selector("#id_value_max-errors li")
    assert "greater than or equal to the minimum" in page.inner_text("#id_value_max-errors")
    # aria-invalid follows the swapped error list; expect() retries until the script has run.
    expect(page.locator("#id_value_max")).to_have_attribute("aria-invalid", "true")
    assert _opportunities().count() == 0
    screenshot(page, "03-form-inline-error")

    # Submitting anyway: the page comes back with the error and nothing is saved.
    page.fill("#id_reference", "EN578-250001/A")
    page.click("form.form-card button[type=submit]")
    page.wait_for_selector("#form-errors")
    assert "greater than or equal to the minimum" in page.inner_text("#id_value_max-errors")
    assert _opportunities().count() == 0

    # Fixing the maximum clears its error as soon as the field is left.
    page.fill("#id_value_max", "900000")
    page.press("#id_value_max", "Tab")
    page.wait_for_function("document.querySelector('#id_value_max-errors').children.length === 0")
    page.select_option("#id_department", label="Shared Services Canada")
    page.select_option("#id_status", "pursuing")
    page.fill("#id_closing_date", (datetime.date.today() + datetime.timedelta(days=12)).isoformat())
    page.click("form.form-card button[type=submit]")
    page.wait_for_url(re.compile(r"/opportunities/\d+/$"))
    assert "Cloud hosting for SSC" in page.inner_text("h1")
    assert "$500,000 – $900,000" in page.inner_text(".stat-row")
    created = _opportunities().get()
    assert (created.reference, created.created_by_id) == ("EN578-250001/A", alice.member.pk)

    # A comment through HTMX, without leaving the page.
    page.evaluate("window.__samePage = true")
    page.fill("#id_comment_body", "Bid/no-bid meeting on Thursday.")
    page.click("#comments button[type=submit]")
    page.wait_for_selector("#comments .comment")
    assert page.evaluate("window.__samePage") is True
    screenshot(page, "04-detail")

    page.get_by_role("link", name="Opportunities").first.click()
    page.wait_for_url(f"{live_server.url}/opportunities/")
    row = page.locator("#opportunity-results tbody tr")
    assert row.count() == 1
    assert "Cloud hosting for SSC" in row.inner_text()
    assert "Pursuing" in row.inner_text()


def test_list_filters_and_pages_without_reloading(page, live_server, alice, opportunity_factory, login, screenshot):
    for i in range(27):
        opportunity_factory(alice.tenant, title=f"Translation services {i:02d}", status="won" if i % 3 == 0 else "pursuing")
    opportunity_factory(alice.tenant, title="Snow removal, Ottawa", reference="SNOW-1", status="submitted")
    login(page, alice.viewer)
    page.evaluate("window.__samePage = true")

    # Pagination swaps the table and pushes the URL.
    page.locator(".pagination a[rel=next]").click()
    page.wait_for_url(re.compile(r"page=2"))
    page.wait_for_selector("text=Page 2 of 2")
    assert page.evaluate("window.__samePage") is True

    # Typing in the search box filters as you type.
    page.fill("input[name=q]", "snow")
    page.wait_for_url(re.compile(r"\?q=snow$"))
    page.wait_for_function("document.querySelectorAll('#opportunity-results tbody tr').length === 1")
    assert "Snow removal, Ottawa" in page.inner_text("#opportunity-results")

    # Choosing a status filters immediately; the URL keeps both filters and drops blanks.
    page.fill("input[name=q]", "")
    page.wait_for_function("document.querySelectorAll('#opportunity-results tbody tr').length === 25")
    page.select_option("select[name=status]", "won")
    page.wait_for_url(re.compile(r"status=won"))
    page.wait_for_selector("text=of 9 opportunities")
    assert "department=" not in page.url
    assert page.evaluate("window.__samePage") is True
    screenshot(page, "05-list-filtered")

    # Back returns to the previous results (htmx history), still without a reload.
    page.go_back()
    page.wait_for_function("document.querySelectorAll('#opportunity-results tbody tr').length === 25")
    assert "status=won" not in page.url
    page.go_forward()
    page.wait_for_selector("text=of 9 opportunities")

    # The pushed URL is a real page: loading it directly gives the same results.
    page.goto(page.url)
    assert "of 9 opportunities" in page.inner_text("#opportunity-results")
    assert page.locator("select[name=status]").input_value() == "won"
    # A viewer gets no create button.
    assert page.get_by_role("link", name="New opportunity").count() == 0

    # Sorting by a column swaps the table; a filter changed afterwards keeps the sort.
    page.get_by_role("link", name="Opportunity").click()
    page.wait_for_url(re.compile(r"sort=title"))
    expect(page.locator("#opportunity-results tbody tr").first).to_contain_text("Translation services 00")
    page.get_by_role("link", name="Opportunity").click()
    page.wait_for_url(re.compile(r"sort=-title"))
    expect(page.locator("#opportunity-results tbody tr").first).to_contain_text("Translation services 24")
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Opportunity")
    page.select_option("select[name=status]", "")
    page.wait_for_selector("text=of 28 opportunities")
    assert "sort=-title" in page.url and "status=" not in page.url
    expect(page.locator("#opportunity-results tbody tr").first).to_contain_text("Translation services 26")


def test_screenshots_of_the_main_pages(page, live_server, alice, bob, opportunity_factory, department_factory,
                                       login, screenshot):
    """Seeds a realistic tenant and saves each main page (desktop and tablet) for review."""
    from integrations.models import SalesforceConnection
    from opportunities import services
    from proposals.services import proposal_create
    from sync_engine.models import SyncLink

    ssc = department_factory(alice.tenant, name="Shared Services Canada", acronym="SSC")
    dnd = department_factory(alice.tenant, name="National Defence", acronym="DND")
    pspc = department_factory(alice.tenant, name="Public Services and Procurement Canada", acronym="PSPC")
    today = datetime.date.today()
    rows = [
        ("Enterprise cloud hosting services", ssc, "pursuing", 1_500_000, 4_000_000, 5),
        ("Satellite imagery analytics", dnd, "analyzing", 250_000, 600_000, 18),
        ("Translation and interpretation standing offer", pspc, "identified", 100_000, 250_000, 40),
        ("Network security assessment", ssc, "submitted", 80_000, 120_000, -3),
        ("Fleet telematics pilot", dnd, "won", 300_000, 300_000, -30),
        ("Office furniture supply arrangement", pspc, "lost", None, 75_000, -60),
    ]
    opportunities = [
        opportunity_factory(alice.tenant, title=t, department=d, status=s, value_min=lo, value_max=hi,
                            closing_date=today + datetime.timedelta(days=days), assignee=alice.member,
                            procurement_method="rfp", category="it", location="Ontario")
        for t, d, s, lo, hi, days in rows
    ]
    main = opportunities[0]
    services.opportunity_update(tenant=alice.tenant, opportunity=main, data={
        "description": "Migration of 40 legacy workloads to a protected B cloud.\nIncumbent contract ends in March.",
        "win_probability": 55, "pursuit_decision": "pursue", "unspsc_code": "81112003",
    })
    analysis = services.analysis_create(tenant=alice.tenant, opportunity=main, created_by=alice.member,
                                        summary="Good fit with our managed hosting practice.",
                                        key_findings="Protected B accreditation required\nBilingual support 24/7",
                                        risks="Tight transition window.", recommendation="Pursue with a partner for bilingual support")
    for code, text, kind, match in [("M1", "Protected B cloud accreditation (CCCS)", "mandatory", "met"),
                                    ("M2", "24/7 bilingual service desk", "mandatory", "partial"),
                                    ("R1", "Migration methodology", "rated", "met")]:
        services.requirement_add(tenant=alice.tenant, analysis=analysis, text=text, kind=kind, code=code,
                                 capability_match=match, weight=20 if kind == "rated" else None)
    services.analysis_complete(tenant=alice.tenant, analysis=analysis, compliance_score=82)
    proposal_create(tenant=alice.tenant, opportunity=main, title="Technical proposal", created_by=alice.member)
    services.comment_create(tenant=alice.tenant, opportunity=main, author=alice.admin, body="Partner call booked for Tuesday.")
    login(page, alice.admin)
    page.goto(f"{live_server.url}/settings/integrations/")
    assert "No Salesforce org is connected" in page.inner_text("main")
    screenshot(page, "09-integrations-empty")

    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Alice production", login_url="https://login.salesforce.com",
        instance_url="https://alice.my.salesforce.com", status="connected", is_default=True,
        api_usage_used=1240, api_usage_max=5000, sf_username="integration@alice.example")
    SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type="opportunity", record_id=main.pk,
                            sobject="Opportunity", salesforce_id="0065g00000AbCdEAAV", status="synced",
                            matched_by="external_id", last_synced_at=datetime.datetime.now(datetime.UTC))

    page.goto(f"{live_server.url}/opportunities/")
    screenshot(page, "10-list")
    SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type="department", record_id=ssc.pk,
                            sobject="Account", salesforce_id="0015g00000XyZaBAAV", status="synced",
                            last_synced_at=datetime.datetime.now(datetime.UTC))
    page.get_by_role("link", name="Departments").click()
    page.wait_for_url(f"{live_server.url}/departments/")
    expect(page.locator("tbody tr").first).to_contain_text("National Defence")
    screenshot(page, "10b-departments")
    page.goto(f"{live_server.url}/opportunities/{main.pk}/")
    assert page.get_by_role("link", name="Open in Salesforce").get_attribute("href") == (
        "https://alice.my.salesforce.com/lightning/r/Opportunity/0065g00000AbCdEAAV/view")
    screenshot(page, "11-detail-synced")
    page.goto(f"{live_server.url}/opportunities/{main.pk}/edit/")
    screenshot(page, "12-edit")
    page.goto(f"{live_server.url}/opportunities/{main.pk}/delete/")
    screenshot(page, "13-delete-confirm")
    page.goto(f"{live_server.url}/settings/integrations/")
    assert "Alice production" in page.inner_text("main")
    screenshot(page, "14-integrations")

    # The tenant menu and the user menu open as dropdowns.
    page.click(".tenant-button")
    screenshot(page, "15-tenant-menu")
    page.keyboard.press("Escape")
    page.click(".user-button")
    assert page.get_by_role("button", name="Log out").is_visible()
    page.keyboard.press("Escape")

    # Another tenant's record is a styled 404.
    theirs = opportunity_factory(bob.tenant, title="Bob's record")
    response = page.goto(f"{live_server.url}/opportunities/{theirs.pk}/")
    assert response.status == 404
    screenshot(page, "16-not-found")

    # Tablet width: navigation collapses to an icon rail.
    page.set_viewport_size({"width": 820, "height": 1100})
    page.goto(f"{live_server.url}/opportunities/")
    screenshot(page, "20-tablet-list")
    page.goto(f"{live_server.url}/opportunities/{main.pk}/")
    screenshot(page, "21-tablet-detail")

    # Phone width: every main page fits the screen (tables scroll inside their own box).
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/opportunities/", f"/opportunities/{main.pk}/", f"/opportunities/{main.pk}/edit/",
                 f"/proposals/new/for/{main.pk}/", "/departments/", "/departments/new/", "/sync/", "/sync/logs/",
                 f"/sync/connections/{connection.pk}/usage/", f"/sync/connections/{connection.pk}/sync-now/",
                 "/settings/integrations/", f"/settings/integrations/salesforce/{connection.pk}/",
                 f"/settings/integrations/salesforce/{connection.pk}/conflicts/"):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-wrap, .usage-chart, .tabs'))
            .map(e => e.tagName + '.' + e.className + ' in ' + e.parentElement.className + ': ' + (e.textContent || '').trim().slice(0, 40)).slice(0, 5)""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, (path, overflow)
    screenshot(page, "22-phone-list")

    # A viewer: no edit buttons, a disabled Sync explained by its tooltip, a 403 page.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click(".user-button")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    login(page, alice.viewer)
    page.goto(f"{live_server.url}/opportunities/{opportunities[1].pk}/")
    assert page.get_by_role("link", name="Edit").count() == 0
    assert page.locator("#salesforce-panel button", has_text="Sync").is_disabled()
    page.hover("#salesforce-panel .has-tip")
    page.wait_for_timeout(300)  # the tooltip fades in
    screenshot(page, "17-detail-viewer")
    response = page.goto(f"{live_server.url}/opportunities/new/")
    assert response.status == 403
    screenshot(page, "18-forbidden")


def test_list_filters_work_without_javascript(chromium_browser, live_server, alice, opportunity_factory):
    opportunity_factory(alice.tenant, title="Won already", status="won")
    opportunity_factory(alice.tenant, title="Still pursuing", status="pursuing")
    context = chromium_browser.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", alice.viewer.get_username())
        page.fill("input[name=password]", "pass-word-123")
        page.click("form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/opportunities/")
        page.select_option("select[name=status]", "won")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(re.compile(r"status=won"))
        results = page.inner_text("#opportunity-results")
        assert "Won already" in results and "Still pursuing" not in results
    finally:
        context.close()
