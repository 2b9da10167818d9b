"""A member adds a new person for the quote's company from the quote editor (HTMX, no reload),
then follows the quote's links to the person's page, the company's page and the People list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from opportunities.models import Contact
from opportunities.services import contact_create
from proposals import quote_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_is_added_inline_from_the_quote_editor(page, live_server, alice, department_factory,
                                                        opportunity_factory, login, screenshot):
    company = department_factory(alice.tenant, "Shared Services Canada", acronym="SSC")
    contact_create(tenant=alice.tenant, first_name="Pat", last_name="Lee", email="pat.lee@ssc.gc.ca",
                   job_title="Procurement officer", department=company)
    opportunity_factory(alice.tenant, title="Cloud hosting, year 1", department=company)
    quote = quote_services.quote_create(tenant=alice.tenant, title="Cloud hosting, year 1", company=company,
                                        currency="CAD")
    login(page, alice.member)

    page.goto(f"{live_server.url}/quotes/{quote.pk}/")
    page.get_by_role("link", name="New person at SSC").click()
    panel = page.locator("#new-person-panel")
    expect(panel).to_contain_text("New person at Shared Services Canada")
    # htmx has wired the panel's controls (each has its listeners) before anything is clicked.
    page.wait_for_function("""() => { const els = document.querySelectorAll(
        '#new-person-panel [hx-post], #new-person-panel [hx-get], #new-person-panel [hx-trigger]');
        return els.length > 0 && [...els].every(el => el['htmx-internal-data']?.listenerInfos?.length); }""")
    # A refused person comes back in the panel with its message; nothing is saved.
    panel.get_by_label("E-mail").fill("sam.roy@")
    panel.get_by_role("button", name="Add person").click()
    expect(panel.locator("#id_person-last_name-errors")).to_have_text("Last name is required.")
    expect(panel.locator("#id_person-email-errors")).to_have_text("Enter a valid e-mail address.")
    assert Contact.objects.count() == 1
    panel.get_by_label("First name").fill("Sam")
    panel.get_by_label("Last name").fill("Roy")
    panel.get_by_label("E-mail").fill("sam.roy@ssc.gc.ca")
    panel.get_by_label("Job title").fill("Contracting officer")
    screenshot(page, "80-quote-new-person-form")
    page.fill("#id_title", "Cloud hosting, year 1 (revised)")  # an unsaved edit elsewhere in the form
    panel.get_by_role("button", name="Add person").click()

    expect(page.locator("#quote-person-field")).to_contain_text("Sam Roy added to Shared Services Canada")
    sam = Contact.objects.get(last_name="Roy")
    expect(page.locator("#id_person")).to_have_value(str(sam.pk))
    expect(page.locator("#id_title")).to_have_value("Cloud hosting, year 1 (revised)")  # kept: no reload
    expect(page.locator("#quote-for")).to_contain_text("Sam Roy")
    expect(page.locator("#quote-subtitle")).to_contain_text("Sam Roy")
    quote.refresh_from_db()
    assert (quote.person, sam.department) == (sam, company)
    screenshot(page, "81-quote-new-person-added")

    # The quote's person and company link to their pages.
    page.locator("#quote-for").get_by_role("link", name="Sam Roy").click()
    page.wait_for_url(f"{live_server.url}/people/{sam.pk}/")
    expect(page.locator(".page-header h1")).to_have_text("Sam Roy")
    expect(page.locator("#person-quotes")).to_contain_text(quote.number)
    screenshot(page, "82-person-page")
    page.locator("aside").get_by_role("link", name="Shared Services Canada").click()
    page.wait_for_url(re.compile(rf"/departments/{company.pk}/$"))
    expect(page.locator("#department-people")).to_contain_text("Sam Roy")
    expect(page.locator("#department-quotes")).to_contain_text(quote.number)
    screenshot(page, "83-department-page")
    page.get_by_role("link", name="People", exact=True).click()
    page.wait_for_url(f"{live_server.url}/people/")
    expect(page.locator("#people-table")).to_contain_text("Sam Roy")
    expect(page.locator("#people-table")).to_contain_text("Pat Lee")
    screenshot(page, "84-people-list")
