"""Send to Salesforce in a real browser, end to end, on the quote detail page: the "Salesforce
actions" menu opens, Send queues the send, a real worker on the real-time queue does it against
the emulator, and the page (polling) shows the result with its time, amount, PDF version and
Open in Salesforce; a second send becomes version 2 of the same file; the emulator's record page
shows the Amount and one file. Screenshots: test-artifacts/quote-send-*.png."""

from __future__ import annotations

import pytest

from sync_engine.quotes.models import QuoteSend
from tests.proposals.quote_world import quote_from_salesforce
from tests.sync_engine.workers import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180), pytest.mark.emulator]


def test_the_salesforce_actions_menu_sends_the_quote_and_shows_the_result(page, live_server, login, screenshot, alice,
                                                                          connected, emulator_reset):
    from playwright.sync_api import expect

    quote, opportunity_id = quote_from_salesforce(alice, connected, emulator_reset)
    login(page, alice.member)
    page.goto(f"{live_server.url}/quotes/{quote.pk}/")
    actions = page.locator(f"#quote-actions-{quote.pk}")
    expect(actions.locator("[data-testid=quote-pdf-download]")).to_be_visible()
    menu = actions.locator("details.quote-sf-menu")
    menu.locator("summary").click()
    send_button = menu.locator("[data-testid=quote-send]")
    expect(send_button).to_be_visible()
    expect(send_button).to_contain_text("Amount ← CAD 26,753.89, and the PDF")
    expect(menu.locator("a", has_text="Open in Salesforce")).to_have_attribute(
        "href", f"{connected.browser_base_url()}/lightning/r/Opportunity/{opportunity_id}/view")
    screenshot(page, "quote-send-menu")

    worker = Worker(queues="realtime").start()
    try:
        send_button.click()
        status = page.locator(f"#quote-send-status-{quote.pk}")
        expect(status).to_have_attribute("data-state", "sent", timeout=60_000)
        expect(status).to_contain_text("Sent to Salesforce")
        expect(status).to_contain_text("Amount CAD 26,753.89 · PDF version 1")
        expect(status.locator("a", has_text="Open in Salesforce")).to_be_visible()
        screenshot(page, "quote-send-sent")

        # Again: the menu (refreshed when the send ended) offers version 2 of the same file.
        page.locator(f"#quote-sf-menu-{quote.pk} summary").click()
        second = page.locator(f"#quote-sf-menu-{quote.pk} [data-testid=quote-send]")
        expect(second).to_contain_text("as version 2")
        page.locator(f"#quote-sf-menu-{quote.pk} summary").click()  # closed: the screenshot shows the page
        second.evaluate("button => button.form.requestSubmit(button)")
        expect(status).to_contain_text("PDF version 2", timeout=60_000)
    finally:
        worker.stop()
    sends = list(QuoteSend.objects.order_by("id"))
    assert [s.version_number for s in sends] == [1, 2]
    assert sends[0].content_document_id == sends[1].content_document_id
    page.locator(f"#quote-sf-menu-{quote.pk} summary").click()
    expect(page.locator(f"#quote-sf-menu-{quote.pk} .menu-note")).to_contain_text("Last sent")
    screenshot(page, "quote-send-menu-after")

    # "Open in Salesforce": the emulator's record page shows the new Amount and the file under
    # the opportunity's files (Notes & Attachments). (The test's connection logs in over HTTPS,
    # so its link is the HTTPS one; the emulator serves its pages on the HTTP port, as the demo's
    # connection links them.)
    href = page.locator(f"#quote-send-status-{quote.pk} a", has_text="Open in Salesforce").get_attribute("href")
    path = f"/lightning/r/Opportunity/{opportunity_id}/view"
    assert href.endswith(path)
    page.goto(f"{emulator_reset.http_url}{path}")
    expect(page.locator("body")).to_contain_text("26753.89")
    expect(page.locator("body")).to_contain_text(f"Quote {quote.number} — {quote.title}")
    screenshot(page, "quote-send-salesforce-opportunity")
