"""A bid manager analyses an opportunity and produces the proposal PDF, entirely in the browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from opportunities.models import BidAnalysis
from proposals.models import Proposal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_runs_an_analysis_and_generates_a_proposal(page, live_server, alice, opportunity_factory,
                                                          login, screenshot):
    opportunity = opportunity_factory(alice.tenant, title="Satellite imagery analytics")
    login(page, alice.member)
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/")

    # Start an analysis.
    page.get_by_role("link", name="New analysis").click()
    page.wait_for_url(re.compile(r"/analyses/new/$"))
    page.fill("#id_summary", "Good fit with our geospatial team.")
    page.fill("#id_key_findings", "Incumbent is leaving\nSecurity clearance needed")
    screenshot(page, "20-analysis-new")
    page.get_by_role("button", name="Start analysis").click()
    page.wait_for_url(re.compile(rf"/opportunities/{opportunity.pk}/#analysis-\d+$"))
    analysis = BidAnalysis.objects.get()
    card = page.locator(f"#analysis-{analysis.pk}")
    expect(card).to_contain_text("Security clearance needed")

    # Add requirements inline; a missing text is reported without losing what was typed.
    card.get_by_text("Add a requirement").click()
    prefix = f"#id_req-{analysis.pk}"
    page.fill(f"{prefix}-code", "M1")
    page.select_option(f"{prefix}-kind", "mandatory")
    page.select_option(f"{prefix}-capability_match", "met")
    card.get_by_role("button", name="Add requirement").click()
    expect(page.locator(f"{prefix}-text-errors")).to_contain_text("Describe the requirement.")
    expect(page.locator(f"{prefix}-code")).to_have_value("M1")
    expect(page.locator(f"{prefix}-text")).to_have_attribute("aria-invalid", "true")
    page.fill(f"{prefix}-text", "Hold a valid Secret clearance")
    page.locator(f"#analysis-{analysis.pk}").get_by_role("button", name="Add requirement").click()
    expect(page.locator(f"#analysis-{analysis.pk}")).to_contain_text("Requirements (1)")
    expect(page.locator(f"#analysis-{analysis.pk} table")).to_contain_text("Hold a valid Secret clearance")
    # The completion form suggests the share of requirements met.
    expect(page.locator(f"#id_done-{analysis.pk}-compliance_score")).to_have_value("100")
    screenshot(page, "21-analysis-in-progress")

    page.fill(f"#id_done-{analysis.pk}-compliance_score", "88")
    page.get_by_role("button", name="Complete analysis").click()
    expect(page.locator(".flash-stack")).to_contain_text("Bid Analysis Completed")
    expect(page.locator(f"#analysis-{analysis.pk} .analysis-head")).to_contain_text("Completed")
    expect(page.locator(".stat-row")).to_contain_text("88%")

    # A proposal from the default outline, with one extra section added in the page.
    page.get_by_role("link", name="New proposal").click()
    page.wait_for_url(re.compile(r"/proposals/new/for/\d+/$"))
    expect(page.locator("#id_sections-0-title")).to_have_value("Executive Summary")
    page.fill("#id_sections-0-body", "We will deliver imagery analytics within 30 days of award.")
    page.get_by_role("button", name="Add a section").click()
    page.fill("#id_sections-5-title", "Security")
    page.fill("#id_sections-5-body", "All analysts hold Secret clearance.")
    screenshot(page, "22-proposal-new")
    page.get_by_role("button", name="Create proposal").click()
    proposal = Proposal.objects.get()
    page.wait_for_url(re.compile(rf"#proposal-{proposal.pk}$"))
    assert [s.title for s in proposal.sections.all()] == [
        "Executive Summary", "Technical Approach", "Team", "Pricing", "Security"]

    page.locator(f"#proposal-{proposal.pk}").get_by_role("button", name="Generate PDF").click()
    expect(page.locator(".flash-stack")).to_contain_text("Proposal Generated")
    pdf_link = page.locator(f"#proposal-{proposal.pk}").get_by_role("link", name="PDF")
    download = page.request.get(live_server.url + pdf_link.get_attribute("href"))
    assert download.status == 200 and download.body()[:5] == b"%PDF-"
    screenshot(page, "23-analysis-and-proposal-done")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "24-record-page-phone")
    # Nothing wider than the screen: the page scrolls vertically only.
    widest = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 391 && !e.closest('.table-wrap'))
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, widest
