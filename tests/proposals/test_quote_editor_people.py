"""The quote editor's "New person" (HTMX, and the plain-form path without JavaScript), and a
refused line without JavaScript: the whole quote page with the line's errors, status 400."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from opportunities.models import Contact
from opportunities.services import contact_create
from proposals import quote_services

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def company(alice, department_factory):
    return department_factory(alice.tenant, "Shared Services Canada", acronym="SSC")


@pytest.fixture
def quote(alice, company):
    pat = contact_create(tenant=alice.tenant, first_name="Pat", last_name="Lee", department=company)
    quote = quote_services.quote_create(tenant=alice.tenant, title="Cloud hosting", company=company, person=pat)
    quote_services.quote_line_add(tenant=alice.tenant, quote=quote, description="Senior consultant",
                                  quantity=Decimal("10"), unit_price=Decimal("150"))
    return quote


def _person(**overrides) -> dict:
    data = {"person-first_name": "Sam", "person-last_name": "Roy", "person-email": "sam.roy@ssc.gc.ca",
            "person-phone": "", "person-job_title": "Contracting officer"}
    data.update(overrides)
    return data


def test_the_editor_offers_a_new_person_at_the_quotes_company(alice, web_as, quote):
    client = web_as(alice.member)
    page = client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    assert "New person at SSC" in page and reverse("quotes:person_new", args=[quote.pk]) in page
    panel = client.get(reverse("quotes:person_new", args=[quote.pk]), **HTMX).content.decode()
    assert 'id="new-person-panel"' in panel and 'name="person-last_name"' in panel and "New person at Shared Services Canada" in panel
    assert 'name="person"' in panel  # the Person select stays in the form
    closed = client.get(reverse("quotes:person_field", args=[quote.pk]), **HTMX).content.decode()
    assert 'id="new-person-panel"' not in closed


def test_a_person_added_inline_joins_the_company_and_becomes_the_quotes_person(alice, web_as, quote, company):
    response = web_as(alice.member).post(reverse("quotes:person_add", args=[quote.pk]), _person(), **HTMX)
    assert response.status_code == 200
    sam = Contact.objects.get(last_name="Roy")
    quote.refresh_from_db()
    assert (sam.department, sam.email, quote.person) == (company, "sam.roy@ssc.gc.ca", sam)
    html = response.content.decode()
    assert f'<option value="{sam.pk}" selected>' in html
    assert "Sam Roy added to Shared Services Canada" in html
    # The quote's summary and subtitle are swapped out of band, the person linked to their page.
    assert 'id="quote-for"' in html and 'hx-swap-oob="true"' in html
    assert reverse("people:detail", args=[sam.pk]) in html


@pytest.mark.parametrize("data, message", [
    ({"person-last_name": ""}, "Last name is required."),
    ({"person-email": "sam@"}, "Enter a valid e-mail address."),
    ({"person-last_name": "x" * 81}, "at most 80 characters"),
])
def test_a_refused_inline_person_comes_back_in_its_form_and_nothing_changes(alice, web_as, quote, data, message):
    client = web_as(alice.member)
    response = client.post(reverse("quotes:person_add", args=[quote.pk]), _person(**data), **HTMX)
    assert response.status_code == 200 and message in response.content.decode()
    assert 'id="new-person-panel"' in response.content.decode()
    # Without JavaScript: the quote page, the form open with its message, 400.
    page = client.post(reverse("quotes:person_add", args=[quote.pk]), _person(**data))
    assert page.status_code == 400 and message in page.content.decode() and "Senior consultant" in page.content.decode()
    quote.refresh_from_db()
    assert Contact.objects.count() == 1 and str(quote.person) == "Pat Lee"


def test_without_javascript_new_person_opens_on_the_page_and_saves_with_a_redirect(alice, web_as, quote):
    client = web_as(alice.member)
    opened = client.get(reverse("quotes:person_new", args=[quote.pk]))
    assert opened.status_code == 302 and "new_person=1" in opened["Location"]
    page = client.get(opened["Location"]).content.decode()
    assert 'id="new-person-panel"' in page and f'formaction="{reverse("quotes:person_add", args=[quote.pk])}"' in page
    response = client.post(reverse("quotes:person_add", args=[quote.pk]), _person())
    assert response.status_code == 302 and response["Location"] == reverse("quotes:detail", args=[quote.pk])
    quote.refresh_from_db()
    assert str(quote.person) == "Sam Roy"


def test_a_viewer_cannot_add_a_person_from_the_quote(alice, web_as, quote):
    client = web_as(alice.viewer)
    assert "New person" not in client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    assert 'id="new-person-panel"' not in client.get(
        reverse("quotes:detail", args=[quote.pk]), {"new_person": "1"}).content.decode()
    assert client.post(reverse("quotes:person_add", args=[quote.pk]), _person(), **HTMX).status_code == 403
    assert client.get(reverse("quotes:person_new", args=[quote.pk]), **HTMX).status_code == 403
    assert Contact.objects.count() == 1


def test_another_organizations_quote_is_a_404_for_new_person(alice, bob, web_as):
    theirs = quote_services.quote_create(tenant=bob.tenant, title="Theirs")
    client = web_as(alice.member)
    assert client.post(reverse("quotes:person_add", args=[theirs.pk]), _person(), **HTMX).status_code == 404
    assert client.get(reverse("quotes:person_new", args=[theirs.pk]), **HTMX).status_code == 404
    theirs.refresh_from_db()
    assert Contact.objects.count() == 0 and theirs.person is None


# --- a refused line without JavaScript ----------------------------------------------------------

def test_without_javascript_a_refused_line_is_the_quote_page_with_its_errors(alice, web_as, quote):
    response = web_as(alice.member).post(reverse("quotes:line_add", args=[quote.pk]), {
        "new-kind": "product", "new-description": "Servers", "new-quantity": "0", "new-unit_price": "2500"})
    assert response.status_code == 400
    page = response.content.decode()
    errors = page.split('id="line-errors-new"', 1)[1].split("</ul>", 1)[0]
    assert "Quantity must be greater than zero." in errors
    assert 'value="Servers"' in page and "<h1>Cloud hosting</h1>" in page  # what was typed, on the whole page
    quote.refresh_from_db()
    assert (quote.line_items.count(), quote.total) == (1, Decimal("1500.00"))


def test_without_javascript_the_line_editor_is_a_form_and_a_good_line_redirects(alice, web_as, quote):
    client = web_as(alice.member)
    page = client.get(reverse("quotes:detail", args=[quote.pk])).content.decode()
    assert f'<form class="line-editor" id="line-form-new" method="post" action="{reverse("quotes:line_add", args=[quote.pk])}"' in page
    response = client.post(reverse("quotes:line_add", args=[quote.pk]), {
        "new-kind": "product", "new-description": "Servers", "new-quantity": "2", "new-unit_price": "2500"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("quotes:detail", args=[quote.pk]))
    quote.refresh_from_db()
    assert quote.total == Decimal("6500.00")


def test_without_javascript_a_refused_line_edit_is_the_page_with_the_line_open(alice, web_as, quote):
    line = quote.line_items.get()
    client = web_as(alice.member)
    opened = client.get(reverse("quotes:line_edit", args=[quote.pk, line.pk]))
    assert opened.status_code == 200 and f'name="line-{line.pk}-quantity"' in opened.content.decode()
    response = client.post(reverse("quotes:line_save", args=[quote.pk, line.pk]), {
        f"line-{line.pk}-kind": "service", f"line-{line.pk}-description": "Senior consultant",
        f"line-{line.pk}-quantity": "10", f"line-{line.pk}-unit_price": "150", f"line-{line.pk}-discount_percent": "150"})
    assert response.status_code == 400
    errors = response.content.decode().split(f'id="line-errors-{line.pk}"', 1)[1].split("</ul>", 1)[0]
    assert "less than or equal to 100" in errors
    line.refresh_from_db()
    assert line.discount_percent == 0
