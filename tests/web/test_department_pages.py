"""Departments (government buyers) in the browser pages: list with counts and search, add and
edit through the services (the Salesforce Account sync is queued), roles, tenant isolation and
bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.models import SalesforceConnection
from opportunities.models import Department
from sync_engine.fanout import fan_out_pending
from sync_engine.models import OutboxEntry

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def test_the_list_shows_this_tenants_departments_with_opportunity_counts(web_as, alice, bob, department_factory,
                                                                        opportunity_factory):
    ssc = department_factory(alice.tenant, name="Shared Services Canada", acronym="SSC")
    department_factory(alice.tenant, name="National Defence", acronym="DND")
    department_factory(bob.tenant, name="Bob's ministry")
    for _ in range(3):
        opportunity_factory(alice.tenant, department=ssc)
    response = web_as(alice.viewer).get(reverse("departments:list"))
    html = _html(response)
    assert "Shared Services Canada" in html and "National Defence" in html and "Bob's ministry" not in html
    assert f'href="/opportunities/?department={ssc.pk}">3</a>' in html
    assert "New department" not in html  # viewers read only


def test_the_list_links_each_department_to_its_salesforce_account(web_as, alice, department_factory):
    from django.utils import timezone

    from sync_engine.models import SyncLink

    ssc = department_factory(alice.tenant, name="Shared Services Canada")
    department_factory(alice.tenant, name="National Defence")
    client = web_as(alice.viewer)
    assert "Salesforce Account" not in _html(client.get(reverse("departments:list")))  # no org connected
    connection = SalesforceConnection.objects.create(
        tenant=alice.tenant, name="Production", login_url="https://login.salesforce.com",
        instance_url="https://alice.my.salesforce.com", status="connected", is_default=True)
    SyncLink.objects.create(tenant=alice.tenant, connection=connection, record_type="department", record_id=ssc.pk,
                            sobject="Account", salesforce_id="001000000000001AAA", status="synced",
                            last_synced_at=timezone.now())
    html = _html(client.get(reverse("departments:list")))
    assert "Salesforce Account" in html
    assert 'href="https://alice.my.salesforce.com/lightning/r/Account/001000000000001AAA/view"' in html
    assert html.count("Not synced yet") == 1  # National Defence


def test_search_matches_name_or_acronym(web_as, alice, department_factory):
    department_factory(alice.tenant, name="Shared Services Canada", acronym="SSC")
    department_factory(alice.tenant, name="National Defence", acronym="DND")
    client = web_as(alice.viewer)
    assert [d.name for d in client.get(reverse("departments:list"), {"q": "dnd"}).context["departments"]] == [
        "National Defence"]
    empty = client.get(reverse("departments:list"), {"q": "zzz"})
    assert "No department matches" in _html(empty)


def test_member_adds_a_department_and_its_account_sync_is_queued(web_as, alice):
    SalesforceConnection.objects.create(tenant=alice.tenant, name="Production", login_url="https://login.salesforce.com",
                                        instance_url="https://alice.my.salesforce.com", status="connected", is_default=True)
    response = web_as(alice.member).post(reverse("departments:create"), {
        "name": "  Canada Border Services Agency ", "acronym": "CBSA", "website": "https://www.cbsa-asfc.gc.ca/"})
    assert response.status_code == 302 and response["Location"] == reverse("departments:list")
    department = Department.objects.get()
    assert (department.name, department.acronym, department.key) == (
        "Canada Border Services Agency", "CBSA", "canada-border-services-agency")
    fan_out_pending()  # the worker turns recorded changes into outbox rows
    assert OutboxEntry.objects.filter(record_type="department", record_id=department.pk, event="created").exists()
    # It can be chosen on an opportunity straight away.
    assert "Canada Border Services Agency" in _html(web_as(alice.member).get(reverse("opportunities:create")))


@pytest.mark.parametrize("data, field, message", [
    ({"name": ""}, "name", "Name is required."),
    ({"name": "Shared Services Canada"}, "name", "Another department in this organization already has this name."),
    ({"name": "x" * 300}, "name", "at most 255 characters"),
    ({"acronym": "A" * 40}, "acronym", "at most 30 characters"),
    ({"website": "not a url"}, "website", "Enter a valid URL."),
])
def test_bad_input_is_a_400_and_saves_nothing(web_as, alice, department_factory, data, field, message):
    department_factory(alice.tenant, name="Shared Services Canada")
    payload = {"name": "Transport Canada", "acronym": "", "website": "", **data}
    response = web_as(alice.member).post(reverse("departments:create"), payload)
    assert response.status_code == 400
    html = _html(response)
    errors = html.split(f'id="id_{field}-errors"', 1)[1].split("</ul>", 1)[0]
    assert message in errors and "Nothing was saved" in html
    assert list(Department.objects.values_list("name", flat=True)) == ["Shared Services Canada"]


def test_a_website_without_scheme_is_read_as_https(web_as, alice):
    web_as(alice.member).post(reverse("departments:create"), {"name": "Transport Canada", "website": "tc.canada.ca"})
    assert Department.objects.get().website == "https://tc.canada.ca"


def test_the_same_name_in_another_tenant_is_fine(web_as, alice, bob, department_factory):
    department_factory(bob.tenant, name="Transport Canada")
    response = web_as(alice.member).post(reverse("departments:create"), {"name": "Transport Canada"})
    assert response.status_code == 302
    assert Department.objects.filter(name="Transport Canada").count() == 2


def test_member_edits_a_department(web_as, alice, department_factory):
    department = department_factory(alice.tenant, name="Shared Services Canada")
    client = web_as(alice.member)
    url = reverse("departments:edit", args=[department.pk])
    assert 'value="Shared Services Canada"' in _html(client.get(url))
    response = client.post(url, {"name": "Shared Services Canada", "acronym": "SSC", "website": ""})
    assert response.status_code == 302
    department.refresh_from_db()
    assert department.acronym == "SSC"


def test_renaming_onto_another_departments_name_is_refused(web_as, alice, department_factory):
    department_factory(alice.tenant, name="National Defence")
    department = department_factory(alice.tenant, name="Shared Services Canada")
    response = web_as(alice.member).post(reverse("departments:edit", args=[department.pk]), {"name": "National Defence"})
    assert response.status_code == 400 and "already has this name" in _html(response)
    department.refresh_from_db()
    assert department.name == "Shared Services Canada"
    assert "Edit department" in _html(response) and "Shared Services Canada" in _html(response)


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_tenants_department_is_404(web_as, alice, bob, department_factory, method):
    theirs = department_factory(alice.tenant, name="Alice's buyer")
    response = getattr(web_as(bob.admin), method)(reverse("departments:edit", args=[theirs.pk]), {"name": "Hijacked"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Alice's buyer"


@pytest.mark.parametrize("name, method, with_pk", [("departments:create", "get", False),
                                                   ("departments:create", "post", False),
                                                   ("departments:edit", "get", True),
                                                   ("departments:edit", "post", True)])
def test_viewers_cannot_add_or_edit(web_as, alice, department_factory, name, method, with_pk):
    department = department_factory(alice.tenant, name="Read only")
    url = reverse(name, args=[department.pk] if with_pk else None)
    response = getattr(web_as(alice.viewer), method)(url, {"name": "Changed"})
    assert response.status_code == 403
    assert list(Department.objects.values_list("name", flat=True)) == ["Read only"]


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("departments:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_nav_marks_departments_as_the_current_section(web_as, alice):
    html = _html(web_as(alice.viewer).get(reverse("departments:list")))
    assert 'class="nav-link is-active" href="/departments/" aria-current="page"' in html


# --- delete --------------------------------------------------------------------------------

def test_an_unused_department_is_deleted_after_confirmation(web_as, alice, department_factory):
    department = department_factory(alice.tenant, name="Typo Departmnet")
    client = web_as(alice.member)
    url = reverse("departments:delete", args=[department.pk])
    page = _html(client.get(url))
    assert "Delete this department?" in page and "Delete department" in page
    response = client.post(url, follow=True)
    assert "Department “Typo Departmnet” deleted." in _html(response)
    assert not Department.objects.exists()


def test_a_department_with_opportunities_cannot_be_deleted(web_as, alice, department_factory, opportunity_factory):
    department = department_factory(alice.tenant, name="Shared Services Canada")
    opportunity_factory(alice.tenant, department=department)
    opportunity_factory(alice.tenant, department=department)
    client = web_as(alice.member)
    url = reverse("departments:delete", args=[department.pk])
    page = _html(client.get(url))
    assert "cannot be deleted: 2 opportunities are for it" in page and "Delete department</button>" not in page
    response = client.post(url, follow=True)
    assert "2 opportunities are for this department" in _html(response) and "Nothing was deleted" in _html(response)
    assert Department.objects.filter(pk=department.pk).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_deleting_another_tenants_department_is_404(web_as, alice, bob, department_factory, method):
    theirs = department_factory(alice.tenant, name="Alice's buyer")
    response = getattr(web_as(bob.admin), method)(reverse("departments:delete", args=[theirs.pk]))
    assert response.status_code == 404
    assert Department.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_viewers_cannot_delete_departments(web_as, alice, department_factory, method):
    department = department_factory(alice.tenant, name="Read only")
    response = getattr(web_as(alice.viewer), method)(reverse("departments:delete", args=[department.pk]))
    assert response.status_code == 403
    assert Department.objects.filter(pk=department.pk).exists()
