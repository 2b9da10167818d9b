"""An admin adds custom quote fields; then a quote is made for a company and person, priced line
by line over HTMX with the totals following, and saved with its custom values — in the browser."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from opportunities.services import contact_create
from proposals.models import Quote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fill_line(page, row: str, *, description: str, quantity: str, price: str, discount: str = "", tax: str = "",
               kind: str = "service", unit: str = "") -> None:
    prefix = f"#id_{row}"
    page.select_option(f"{prefix}-kind", kind)
    page.fill(f"{prefix}-description", description)
    page.fill(f"{prefix}-unit", unit)
    page.fill(f"{prefix}-quantity", quantity)
    page.fill(f"{prefix}-unit_price", price)
    page.fill(f"{prefix}-discount_percent", discount)
    page.fill(f"{prefix}-tax_percent", tax)


def test_a_quote_is_priced_line_by_line_with_live_totals(page, live_server, alice, department_factory,
                                                         opportunity_factory, login, screenshot):
    company = department_factory(alice.tenant, "Shared Services Canada", acronym="SSC")
    contact_create(tenant=alice.tenant, first_name="Pat", last_name="Lee", email="pat.lee@example.gc.ca",
                   job_title="Procurement officer", department=company)
    opportunity = opportunity_factory(alice.tenant, title="Cloud hosting, year 1", department=company)
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, alice.admin)

    # Custom quote fields, as an admin.
    page.get_by_role("link", name="Quotes").first.click()
    page.wait_for_url(f"{live_server.url}/quotes/")
    expect(page.locator(".empty-state")).to_contain_text("No quotes yet")
    page.get_by_role("link", name="Custom fields").click()
    page.fill("#id_label", "Purchase order")
    page.select_option("#id_field_type", "text")
    page.get_by_role("button", name="Add field").click()
    page.fill("#id_label", "Contract vehicle")
    page.select_option("#id_field_type", "dropdown")
    page.fill("#id_options", "Standing offer\nSupply arrangement")
    page.get_by_role("button", name="Add field").click()
    expect(page.locator("#custom-field-table")).to_contain_text("Contract vehicle")
    screenshot(page, "70-quote-custom-fields")

    # A new quote from the opportunity's page starts with its company.
    page.goto(f"{live_server.url}/opportunities/{opportunity.pk}/")
    page.locator("#opportunity-quotes").get_by_role("link", name="New quote").click()
    expect(page.locator("#id_company")).to_have_value(str(company.pk))
    page.select_option("#id_person", label="Pat Lee — Shared Services Canada")
    page.fill("#id_valid_until", "2031-03-31")
    screenshot(page, "71-quote-new")
    page.get_by_role("button", name="Create quote").click()
    page.wait_for_url(re.compile(r"/quotes/\d+/$"))
    quote = Quote.objects.get()
    expect(page.locator(".page-header h1")).to_have_text("Quote — Cloud hosting, year 1")

    # First line: the preview shows the amount before anything is saved.
    _fill_line(page, "new", description="Senior consultant", unit="hour", quantity="120", price="165",
               discount="10", tax="13")
    expect(page.locator("#line-preview-new")).to_contain_text("17,820.00")  # 19,800 less 10 %
    expect(page.locator("#line-preview-new")).to_contain_text("20,136.60 CAD")
    assert quote.line_items.count() == 0
    page.get_by_role("button", name="Add line").click()
    expect(page.locator("#quote-lines tbody")).to_contain_text("Senior consultant")
    expect(page.locator('#quote-totals [data-total="total"]')).to_have_text("20,136.60 CAD")

    # A bad second line comes back with its message; then a good one.
    _fill_line(page, "new", description="Servers", kind="product", unit="each", quantity="0", price="2500")
    page.get_by_role("button", name="Add line").click()
    expect(page.locator("#line-errors-new")).to_contain_text("Quantity must be greater than zero.")
    page.fill("#id_new-quantity", "2")
    page.get_by_role("button", name="Add line").click()
    expect(page.locator("#quote-lines .card-header .count")).to_have_text("2")
    expect(page.locator('#quote-totals [data-total="subtotal"]')).to_have_text("24,800.00")
    expect(page.locator('#quote-totals [data-total="discount"]')).to_have_text("−1,980.00")
    expect(page.locator('#quote-totals [data-total="tax"]')).to_have_text("2,316.60")
    expect(page.locator('#quote-totals [data-total="total"]')).to_have_text("25,136.60 CAD")
    screenshot(page, "72-quote-lines")

    # Edit the consultant's hours in place; move the servers up; the totals follow.
    consultant = quote.line_items.get(description="Senior consultant")
    page.get_by_role("button", name="Edit Senior consultant").click()
    # htmx wires the swapped-in inputs when it settles: typing before its listener is attached
    # sends no preview, so wait until the quantity input (it triggers the preview) has it.
    page.wait_for_function(
        """id => { const data = document.querySelector(`#id_line-${id}-quantity`)?.['htmx-internal-data'];
                   return !!(data && data.listenerInfos && data.listenerInfos.length); }""", arg=consultant.pk)
    page.fill(f"#id_line-{consultant.pk}-quantity", "100")
    expect(page.locator(f"#line-preview-{consultant.pk}")).to_contain_text("21,780.50 CAD")
    screenshot(page, "73-quote-line-edit")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator('#quote-totals [data-total="total"]')).to_have_text("21,780.50 CAD")
    page.get_by_role("button", name="Move Servers up").click()
    expect(page.locator("#quote-lines tbody tr").first).to_contain_text("Servers")

    # The quote's own fields and custom values.
    page.select_option("#id_status", "sent")
    page.fill("#id_cf_purchase_order", "PO-2031-0042")
    page.select_option("#id_cf_contract_vehicle", "Standing offer")
    page.fill("#id_terms", "Net 30. Prices in Canadian dollars.")
    page.get_by_role("button", name="Save quote").click()
    expect(page.locator(".flash-stack")).to_contain_text(f"Quote {quote.number} saved.")
    quote.refresh_from_db()
    assert (quote.status, quote.total, quote.custom_values) == (
        "sent", Decimal("21780.50"), {"purchase_order": "PO-2031-0042", "contract_vehicle": "Standing offer"})
    expect(page.locator("aside.stack")).to_contain_text("PO-2031-0042")
    expect(page.locator("aside.stack")).to_contain_text("Pat Lee")
    screenshot(page, "74-quote-detail")

    # Remove a line (confirmed); then the list shows the quote with its total.
    page.get_by_role("button", name="Remove Servers").click()
    expect(page.locator('#quote-totals [data-total="total"]')).to_have_text("16,780.50 CAD")
    page.get_by_role("link", name="Quotes").first.click()
    expect(page.locator("#quote-table")).to_contain_text("16,780.50")
    expect(page.locator("#quote-table")).to_contain_text("Shared Services Canada")
    screenshot(page, "75-quote-list")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/quotes/{quote.pk}/")
    # On a phone the lines table scrolls inside its card; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    screenshot(page, "76-quote-detail-phone")

