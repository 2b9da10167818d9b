"""The quote pages: list (search, status, company, paging), new quote, the quote page with its
HTMX line items and totals, delete, custom quote fields admin; roles and other tenants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities.services import contact_create
from proposals import quote_services
from proposals.models import Quote, QuoteCustomField, QuoteLineItem
from proposals.quote_custom_fields import quote_custom_field_create

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def company(alice, department_factory):
    return department_factory(alice.tenant, "Shared Services Canada")


@pytest.fixture
def quote(alice, company):
    person = contact_create(tenant=alice.tenant, first_name="Pat", last_name="Lee", email="pat@example.gc.ca",
                            department=company)
    quote = quote_services.quote_create(tenant=alice.tenant, title="Cloud hosting", company=company, person=person)
    quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="Senior consultant",
                                  quantity=Decimal("10"), unit_price=Decimal("150"), tax_percent=Decimal("13"))
    return quote


def test_the_nav_has_quotes_and_the_list_shows_totals_and_filters(alice, web_as, quote, company):
    quote_services.quote_create(tenant=alice.tenant, title="Printers", status="sent")
    page = web_as(alice.viewer).get(reverse("quotes:list")).content.decode()
    assert 'href="/quotes/"' in page and ">Quotes</span>" in page
    assert "Cloud hosting" in page and "1,695.00" in page and "Printers" in page
    client = web_as(alice.viewer)
    assert "Printers" not in client.get(reverse("quotes:list"), {"status": "scoping"}).content.decode()
    by_company = client.get(reverse("quotes:list"), {"company": company.pk}).content.decode()
    assert "Cloud hosting" in by_company and "Printers" not in by_company
    by_search = client.get(reverse("quotes:list"), {"q": "pat"}).content.decode()  # the person's name
    assert "Cloud hosting" in by_search and "Printers" not in by_search
    assert "No quote matches" in client.get(reverse("quotes:list"), {"q": "zzz"}).content.decode()
    # Junk in the filters is ignored, never a 500.
    assert client.get(reverse("quotes:list"), {"company": "x" * 40, "status": "won", "page": "-3"}).status_code == 200


def test_the_list_pages(alice, web_as):
    for n in range(27):
        quote_services.quote_create(tenant=alice.tenant, title=f"Quote {n:02d}")
    client = web_as(alice.viewer)
    first = client.get(reverse("quotes:list")).content.decode()
    assert "Page 1 of 2" in first and "Quote 26" in first and "Quote 00" not in first
    assert "Quote 00" in client.get(reverse("quotes:list"), {"page": 2}).content.decode()


def test_a_new_quote_from_an_opportunity_starts_with_its_company(alice, web_as, opportunity_factory, company):
    opportunity = opportunity_factory(alice.tenant, department=company)
    client = web_as(alice.member)
    form = client.get(reverse("quotes:create") + f"?opportunity={opportunity.pk}").content.decode()
    assert f'<option value="{company.pk}" selected>' in form
    response = client.post(reverse("quotes:create") + f"?opportunity={opportunity.pk}", {
        "title": "Quote for it", "currency": "cad", "company": company.pk, "opportunity": opportunity.pk})
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("quotes:detail", args=[quote.pk])
    assert (quote.currency, quote.company, quote.opportunity, quote.number) == ("CAD", company, opportunity, "Q-00001")
    detail = client.get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert "Quote for it" in detail and reverse("quotes:detail", args=[quote.pk]) in detail


def test_a_bad_new_quote_shows_errors_and_writes_nothing(alice, web_as):
    response = web_as(alice.member).post(reverse("quotes:create"), {"title": "", "currency": "dollars"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give the quote a title." in page and "Use a three-letter currency code" in page
    assert Quote.objects.count() == 0


def test_the_quote_page_shows_company_person_lines_totals_and_the_actions_slot(alice, web_as, quote, company):
    response = web_as(alice.member).get(reverse("quotes:detail", args=[quote.pk]))
    page = response.content.decode()
    assert "Shared Services Canada" in page and 'href="mailto:pat@example.gc.ca"' in page
    assert "Senior consultant" in page and "1,500.00" in page and "195.00" in page and "1,695.00 CAD" in page
    # Download PDF and the Salesforce actions menu (helper D's partial) sit in the header.
    assert "sync_quotes/_quote_actions.html" in [template.name for template in response.templates]


def test_lines_are_added_edited_moved_and_removed_over_htmx(alice, web_as, quote):
    client = web_as(alice.member)
    response = client.post(reverse("quotes:line_add", args=[quote.pk]), {
        "new-kind": "product", "new-description": "Server", "new-unit": "each", "new-quantity": "2",
        "new-unit_price": "1000", "new-discount_percent": "10", "new-tax_percent": ""}, **HTMX)
    section = response.content.decode()
    assert response.status_code == 200 and 'id="quote-lines"' in section and 'hx-swap-oob="true"' in section
    assert "Server" in section and "3,495.00 CAD" in section  # 1,695 + 1,800
    server = quote.line_items.get(description="Server")

    edit = client.get(reverse("quotes:line_edit", args=[quote.pk, server.pk]), **HTMX).content.decode()
    assert f'name="line-{server.pk}-quantity"' in edit and 'value="2.00"' in edit
    client.post(reverse("quotes:line_save", args=[quote.pk, server.pk]), {
        f"line-{server.pk}-kind": "product", f"line-{server.pk}-description": "Server", f"line-{server.pk}-unit": "each",
        f"line-{server.pk}-quantity": "3", f"line-{server.pk}-unit_price": "1000",
        f"line-{server.pk}-discount_percent": "0", f"line-{server.pk}-tax_percent": "0"}, **HTMX)
    quote.refresh_from_db()
    assert quote.total == Decimal("4695.00")

    client.post(reverse("quotes:line_move", args=[quote.pk, server.pk, "up"]), **HTMX)
    assert list(quote.line_items.values_list("description", flat=True)) == ["Server", "Senior consultant"]
    client.post(reverse("quotes:line_remove", args=[quote.pk, server.pk]), **HTMX)
    quote.refresh_from_db()
    assert (quote.total, quote.line_items.count()) == (Decimal("1695.00"), 1)


@pytest.mark.parametrize("post, message", [
    ({"new-description": "", "new-quantity": "1", "new-unit_price": "1"}, "Describe the line."),
    ({"new-description": "x", "new-quantity": "abc", "new-unit_price": "1"}, "Enter a number."),
    ({"new-description": "x", "new-quantity": "0", "new-unit_price": "1"}, "Quantity must be greater than zero."),
    ({"new-description": "x", "new-quantity": "1", "new-unit_price": "1", "new-discount_percent": "120"},
     "Ensure this value is less than or equal to 100."),
    ({"new-description": "x", "new-quantity": "9999999999.99", "new-unit_price": "999999999999.99"},
     "a line can be at most 9,999,999,999,999.99"),
])
def test_a_bad_line_comes_back_with_its_message_and_nothing_changes(alice, web_as, quote, post, message):
    response = web_as(alice.member).post(reverse("quotes:line_add", args=[quote.pk]),
                                         {"new-kind": "service", **post}, **HTMX)
    assert response.status_code == 200 and message in response.content.decode()
    quote.refresh_from_db()
    assert (quote.line_items.count(), quote.total) == (1, Decimal("1695.00"))


def test_the_live_preview_computes_without_saving(alice, web_as, quote):
    client = web_as(alice.member)
    preview = client.post(reverse("quotes:line_preview", args=[quote.pk]), {
        "new-kind": "service", "new-description": "", "new-quantity": "4", "new-unit_price": "25.125",
        "new-discount_percent": "", "new-tax_percent": "13"}, **HTMX).content.decode()
    assert "Ensure that there are no more than 2 decimal places." in preview
    preview = client.post(reverse("quotes:line_preview", args=[quote.pk]), {
        "new-kind": "service", "new-description": "", "new-quantity": "4", "new-unit_price": "25",
        "new-discount_percent": "", "new-tax_percent": "13"}, **HTMX).content.decode()
    assert "100.00" in preview and "1,808.00 CAD" in preview  # 1,695 + 100 + 13
    line = quote.line_items.get()
    edited = client.post(reverse("quotes:line_preview", args=[quote.pk]), {
        "line": line.pk, f"line-{line.pk}-kind": "service", f"line-{line.pk}-description": "x",
        f"line-{line.pk}-quantity": "1", f"line-{line.pk}-unit_price": "150", f"line-{line.pk}-tax_percent": "0"},
        **HTMX).content.decode()
    assert "150.00 CAD" in edited  # the edited line replaces the stored one
    assert QuoteLineItem.objects.count() == 1 and Quote.objects.get().total == Decimal("1695.00")


def test_saving_the_quote_fields_with_custom_values(alice, web_as, quote):
    quote_custom_field_create(tenant=alice.tenant, label="PO number", field_type="text")
    quote_custom_field_create(tenant=alice.tenant, label="Hours", field_type="number")
    quote_custom_field_create(tenant=alice.tenant, label="Cleared", field_type="checkbox")
    client = web_as(alice.member)
    base = {"title": "Cloud hosting v2", "status": "sent", "currency": "CAD", "valid_until": "2031-01-31",
            "company": quote.company_id, "person": quote.person_id, "terms": "Net 30"}
    bad = client.post(reverse("quotes:save", args=[quote.pk]), {**base, "cf_hours": "many"})
    assert bad.status_code == 400 and "Enter a number." in bad.content.decode()
    assert Quote.objects.get(pk=quote.pk).title == "Cloud hosting"
    good = client.post(reverse("quotes:save", args=[quote.pk]), {**base, "cf_po_number": "PO-9", "cf_hours": "12.5",
                                                                  "cf_cleared": "on"})
    assert good.status_code == 302
    quote.refresh_from_db()
    assert (quote.title, quote.status, str(quote.valid_until), quote.terms) == ("Cloud hosting v2", "sent", "2031-01-31", "Net 30")
    assert quote.custom_values == {"po_number": "PO-9", "hours": "12.5", "cleared": True}
    assert "PO-9" in client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()


def test_deleting_a_quote_asks_first(alice, web_as, quote):
    client = web_as(alice.member)
    assert "Delete quote Q-00001?" in client.get(reverse("quotes:delete", args=[quote.pk])).content.decode()
    assert client.post(reverse("quotes:delete", args=[quote.pk])).status_code == 302
    assert Quote.objects.count() == 0


def test_viewers_read_but_cannot_write(alice, web_as, quote):
    client = web_as(alice.viewer)
    page = client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    assert "Add line" not in page and "Save quote" not in page
    line = quote.line_items.get()
    for url in (reverse("quotes:save", args=[quote.pk]), reverse("quotes:line_add", args=[quote.pk]),
                reverse("quotes:line_remove", args=[quote.pk, line.pk]), reverse("quotes:delete", args=[quote.pk])):
        assert client.post(url, {"title": "x"}).status_code == 403, url
    assert (Quote.objects.get().title, QuoteLineItem.objects.count()) == ("Cloud hosting", 1)


def test_another_tenants_quote_is_a_404_everywhere(alice, bob, web_as, quote):
    client = web_as(bob.admin)
    line = quote.line_items.get()
    for url in (reverse("quotes:detail", args=[quote.pk]), reverse("quotes:delete", args=[quote.pk]),
                reverse("quotes:line_edit", args=[quote.pk, line.pk])):
        assert client.get(url).status_code == 404, url
    for url in (reverse("quotes:save", args=[quote.pk]), reverse("quotes:line_add", args=[quote.pk]),
                reverse("quotes:line_save", args=[quote.pk, line.pk]), reverse("quotes:line_remove", args=[quote.pk, line.pk]),
                reverse("quotes:line_move", args=[quote.pk, line.pk, "up"]), reverse("quotes:line_preview", args=[quote.pk]),
                reverse("quotes:delete", args=[quote.pk])):
        assert client.post(url, {"title": "x"}).status_code == 404, url
    assert "Cloud hosting" not in client.get(reverse("quotes:list")).content.decode()
    assert (Quote.objects.get().title, QuoteLineItem.objects.count()) == ("Cloud hosting", 1)


def test_custom_fields_admin_adds_edits_and_deletes(alice, web_as):
    client = web_as(alice.admin)
    assert client.post(reverse("quotes:custom_fields"), {"label": "Vehicle", "field_type": "dropdown",
                                                         "options": "Standing offer\nSupply arrangement"}).status_code == 302
    field = QuoteCustomField.objects.get()
    assert (field.key, field.options) == ("vehicle", ["Standing offer", "Supply arrangement"])
    bad = client.post(reverse("quotes:custom_fields"), {"label": "Choice", "field_type": "dropdown", "options": ""})
    assert bad.status_code == 400 and "A drop-down list needs at least one option." in bad.content.decode()
    assert client.post(reverse("quotes:custom_field_edit", args=[field.pk]),
                       {"label": "Contract vehicle", "options": "Standing offer"}).status_code == 302
    field.refresh_from_db()
    assert (field.label, field.options) == ("Contract vehicle", ["Standing offer"])
    page = client.get(reverse("quotes:custom_fields")).content.decode()
    assert "Contract vehicle" in page and "Drop-down list" in page
    assert "No quote has a value" in client.get(reverse("quotes:custom_field_delete", args=[field.pk])).content.decode()
    assert client.post(reverse("quotes:custom_field_delete", args=[field.pk])).status_code == 302
    assert QuoteCustomField.objects.count() == 0


def test_custom_fields_admin_is_for_admins_of_the_tenant(alice, bob, web_as):
    field = quote_custom_field_create(tenant=alice.tenant, label="PO", field_type="text")
    member = web_as(alice.member)
    assert member.get(reverse("quotes:custom_fields")).status_code == 403
    assert member.post(reverse("quotes:custom_fields"), {"label": "X", "field_type": "text"}).status_code == 403
    other = web_as(bob.admin)
    assert other.get(reverse("quotes:custom_field_edit", args=[field.pk])).status_code == 404
    assert other.post(reverse("quotes:custom_field_delete", args=[field.pk])).status_code == 404
    assert QuoteCustomField.objects.count() == 1
