"""People pages (contacts: the quotes' persons) and the read-only department page: every role
reads, members write, other organizations' ids are 404s, bad input is a 400 with nothing saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from opportunities.models import Contact, OpportunityContact
from opportunities.services import contact_create
from proposals import quote_services
from proposals.models import Quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(alice, department_factory):
    return department_factory(alice.tenant, "Shared Services Canada", acronym="SSC")


@pytest.fixture
def pat(alice, company):
    return contact_create(tenant=alice.tenant, first_name="Pat", last_name="Lee", email="pat.lee@ssc.gc.ca",
                          phone="613-555-0101", job_title="Procurement officer", department=company)


def _person_post(**overrides) -> dict:
    data = {"first_name": "Sam", "last_name": "Roy", "email": "sam.roy@tc.gc.ca", "phone": "", "job_title": "",
            "department": ""}
    data.update(overrides)
    return data


def test_the_nav_has_people_and_the_list_searches_filters_and_pages(alice, web_as, company, pat, department_factory):
    other = department_factory(alice.tenant, "Transport Canada")
    contact_create(tenant=alice.tenant, first_name="Robin", last_name="Wu", job_title="Analyst", department=other)
    quote_services.quote_create(tenant=alice.tenant, title="Hosting", company=company, person=pat)
    client = web_as(alice.viewer)
    page = client.get(reverse("people:list")).content.decode()
    assert 'href="/people/"' in page and ">People</span>" in page
    assert "Pat Lee" in page and "Robin Wu" in page and reverse("people:detail", args=[pat.pk]) in page
    assert reverse("departments:detail", args=[company.pk]) in page
    assert "New person" not in page  # a viewer reads only
    assert "Robin" not in client.get(reverse("people:list"), {"q": "pat lee"}).content.decode()
    assert "Pat Lee" in client.get(reverse("people:list"), {"q": "procurement"}).content.decode()  # job title
    by_company = client.get(reverse("people:list"), {"company": other.pk}).content.decode()
    assert "Robin Wu" in by_company and "Pat Lee" not in by_company
    assert "No person matches" in client.get(reverse("people:list"), {"q": "zzz"}).content.decode()
    # Junk in the filters is ignored, never a 500.
    assert client.get(reverse("people:list"), {"company": "9" * 40, "q": "a\x00b", "page": "-1"}).status_code == 200
    for n in range(30):
        contact_create(tenant=alice.tenant, last_name=f"Zed {n:02d}")
    first = client.get(reverse("people:list")).content.decode()
    assert "Page 1 of 2" in first and "Zed 29" not in first
    assert "Zed 29" in client.get(reverse("people:list"), {"page": 2}).content.decode()


def test_a_persons_page_shows_their_company_quotes_and_opportunities(alice, web_as, company, pat, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Cloud hosting, year 1", department=company)
    OpportunityContact.objects.create(tenant=alice.tenant, opportunity=opportunity, contact=pat, role="Evaluator",
                                      is_primary=True)
    quote = quote_services.quote_create(tenant=alice.tenant, title="Hosting quote", company=company, person=pat)
    page = web_as(alice.viewer).get(reverse("people:detail", args=[pat.pk])).content.decode()
    assert "Pat Lee" in page and "Procurement officer" in page and 'href="mailto:pat.lee@ssc.gc.ca"' in page
    assert reverse("departments:detail", args=[company.pk]) in page
    assert reverse("quotes:detail", args=[quote.pk]) in page and quote.number in page
    assert reverse("opportunities:detail", args=[opportunity.pk]) in page and "Evaluator" in page
    assert reverse("people:edit", args=[pat.pk]) not in page  # no edit for a viewer
    assert reverse("people:edit", args=[pat.pk]) in web_as(alice.member).get(
        reverse("people:detail", args=[pat.pk])).content.decode()
    # The opportunity's contacts link to the person.
    detail = web_as(alice.viewer).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    assert reverse("people:detail", args=[pat.pk]) in detail


def test_a_member_adds_a_person_from_a_departments_page(alice, web_as, company):
    client = web_as(alice.member)
    form = client.get(reverse("people:create"), {"company": company.pk}).content.decode()
    assert f'<option value="{company.pk}" selected>' in form
    response = client.post(reverse("people:create"), _person_post(department=company.pk, first_name=" Sam "))
    person = Contact.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("people:detail", args=[person.pk])
    assert (person.first_name, person.last_name, person.department, person.tenant) == ("Sam", "Roy", company, alice.tenant)


@pytest.mark.parametrize("data, field, message", [
    ({"last_name": ""}, "last_name", "Last name is required."),
    ({"last_name": "   "}, "last_name", "Last name is required."),
    ({"email": "sam@"}, "email", "Enter a valid e-mail address."),
    ({"last_name": "x" * 81}, "last_name", "at most 80 characters"),
    ({"job_title": "x" * 129}, "job_title", "at most 128 characters"),
    ({"department": "99999999"}, "department", "Choose a company from the list."),
    ({"department": "abc"}, "department", "Choose a company from the list."),
])
def test_bad_person_input_is_a_400_and_saves_nothing(alice, web_as, data, field, message):
    response = web_as(alice.member).post(reverse("people:create"), _person_post(**data))
    assert response.status_code == 400
    errors = response.content.decode().split(f'id="id_{field}-errors"', 1)[1].split("</ul>", 1)[0]
    assert message in errors
    assert Contact.objects.count() == 0


def test_another_organizations_company_cannot_be_chosen(alice, bob, web_as, department_factory):
    theirs = department_factory(bob.tenant, "Their department")
    client = web_as(alice.member)
    assert client.get(reverse("people:create"), {"company": theirs.pk}).status_code == 404
    response = client.post(reverse("people:create"), _person_post(department=theirs.pk))
    assert response.status_code == 400 and "Choose a company from the list." in response.content.decode()
    assert Contact.objects.count() == 0


def test_a_member_edits_a_person_and_bad_input_changes_nothing(alice, web_as, pat, department_factory):
    client = web_as(alice.member)
    form = client.get(reverse("people:edit", args=[pat.pk])).content.decode()
    assert 'value="pat.lee@ssc.gc.ca"' in form
    bad = client.post(reverse("people:edit", args=[pat.pk]), _person_post(last_name="", email="x"))
    assert bad.status_code == 400 and "Last name is required." in bad.content.decode()
    pat.refresh_from_db()
    assert (pat.last_name, pat.email) == ("Lee", "pat.lee@ssc.gc.ca")
    other = department_factory(alice.tenant, "Transport Canada")
    response = client.post(reverse("people:edit", args=[pat.pk]),
                           _person_post(first_name="Pat", last_name="Lee-Roy", department=other.pk))
    assert response.status_code == 302 and response["Location"] == reverse("people:detail", args=[pat.pk])
    pat.refresh_from_db()
    assert (pat.last_name, pat.email, pat.department) == ("Lee-Roy", "sam.roy@tc.gc.ca", other)


def test_deleting_a_person_asks_first_and_their_quotes_keep_the_name(alice, web_as, company, pat):
    quote = quote_services.quote_create(tenant=alice.tenant, title="Hosting", company=company, person=pat)
    client = web_as(alice.member)
    confirm = client.get(reverse("people:delete", args=[pat.pk])).content.decode()
    assert "Delete this person?" in confirm and "1 quote addressed to them keeps their name as text" in confirm
    response = client.post(reverse("people:delete", args=[pat.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("people:list")
    quote.refresh_from_db()
    assert Contact.objects.count() == 0 and (quote.person, quote.contact_name) == (None, "Pat Lee")


@pytest.mark.parametrize("name, method", [
    ("people:create", "get"), ("people:create", "post"), ("people:edit", "get"), ("people:edit", "post"),
    ("people:delete", "get"), ("people:delete", "post"),
])
def test_a_viewer_reads_people_but_cannot_write(alice, web_as, pat, name, method):
    client = web_as(alice.viewer)
    url = reverse(name) if name == "people:create" else reverse(name, args=[pat.pk])
    response = getattr(client, method)(url, _person_post() if method == "post" else None)
    assert response.status_code == 403
    pat.refresh_from_db()
    assert Contact.objects.count() == 1 and pat.last_name == "Lee"


@pytest.mark.parametrize("role", ["viewer", "member", "admin"])
def test_another_organizations_person_and_department_are_404s(alice, bob, web_as, department_factory, role):
    theirs_company = department_factory(bob.tenant, "Their department")
    theirs = contact_create(tenant=bob.tenant, last_name="Secret", department=theirs_company)
    client = web_as(getattr(alice, role))
    assert client.get(reverse("people:detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("departments:detail", args=[theirs_company.pk])).status_code == 404
    assert "Secret" not in client.get(reverse("people:list")).content.decode()
    if role != "viewer":
        assert client.post(reverse("people:edit", args=[theirs.pk]), _person_post()).status_code == 404
        assert client.post(reverse("people:delete", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.last_name == "Secret"


def test_a_viewer_opens_a_departments_page_with_its_people_quotes_and_opportunities(
        alice, web_as, company, pat, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant, title="Cloud hosting, year 1", department=company)
    quote = quote_services.quote_create(tenant=alice.tenant, title="Hosting quote", company=company, person=pat)
    page = web_as(alice.viewer).get(reverse("departments:detail", args=[company.pk])).content.decode()
    assert "Shared Services Canada" in page and "SSC" in page
    assert reverse("people:detail", args=[pat.pk]) in page
    assert reverse("quotes:detail", args=[quote.pk]) in page
    assert reverse("opportunities:detail", args=[opportunity.pk]) in page
    assert reverse("departments:edit", args=[company.pk]) not in page
    member_page = web_as(alice.member).get(reverse("departments:detail", args=[company.pk])).content.decode()
    assert reverse("departments:edit", args=[company.pk]) in member_page
    assert f'{reverse("people:create")}?company={company.pk}' in member_page
    # The list links each department's name to its page.
    assert reverse("departments:detail", args=[company.pk]) in web_as(alice.viewer).get(
        reverse("departments:list")).content.decode()


def test_the_quote_page_links_its_company_and_person_for_every_role(alice, web_as, company, pat):
    quote = quote_services.quote_create(tenant=alice.tenant, title="Hosting", company=company, person=pat)
    for user in (alice.viewer, alice.member):
        page = web_as(user).get(reverse("quotes:detail", args=[quote.pk])).content.decode()
        assert f'href="{reverse("departments:detail", args=[company.pk])}"' in page
        assert f'href="{reverse("people:detail", args=[pat.pk])}"' in page
        assert reverse("departments:edit", args=[company.pk]) not in page
    listing = web_as(alice.viewer).get(reverse("quotes:list")).content.decode()
    assert reverse("departments:detail", args=[company.pk]) in listing and reverse("people:detail", args=[pat.pk]) in listing
    assert Quote.objects.count() == 1
