"""/api/v1/departments/ and comments on opportunities."""

from __future__ import annotations

import pytest

from opportunities.models import Comment, Department
from tests.api.conftest import API, errors_of

DEPARTMENTS = f"{API}/departments/"


def test_a_department_is_created_with_a_generated_key(alice, alice_api):
    response = alice_api.post(DEPARTMENTS, {"name": "Public Services and Procurement Canada", "acronym": "PSPC",
                                            "website": "https://www.canada.ca/pspc"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["key"] == "public-services-and-procurement-canada"
    assert Department.objects.get(pk=response.json()["id"]).tenant_id == alice.tenant.pk


def test_departments_are_listed_searched_and_updated(alice, alice_api, department_factory):
    health = department_factory(alice.tenant, "Health Canada", acronym="HC")
    department_factory(alice.tenant, "National Defence", acronym="DND")
    assert [d["name"] for d in alice_api.get(DEPARTMENTS).json()["results"]] == ["Health Canada", "National Defence"]
    assert [d["name"] for d in alice_api.get(DEPARTMENTS, {"search": "dnd"}).json()["results"]] == ["National Defence"]
    response = alice_api.patch(f"{DEPARTMENTS}{health.pk}/", {"acronym": "HC-SC"}, format="json")
    assert response.json()["acronym"] == "HC-SC"
    response = alice_api.put(f"{DEPARTMENTS}{health.pk}/", {"name": "Health Canada", "website": ""}, format="json")
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize(
    "body, field",
    [({}, "name"), ({"name": ""}, "name"), ({"name": "N" * 256}, "name"),
     ({"name": "X", "website": "not a url"}, "website"), ({"name": "X", "acronym": "A" * 31}, "acronym")],
)
def test_bad_departments_are_400s(alice, alice_api, body, field):
    assert field in errors_of(alice_api.post(DEPARTMENTS, body, format="json"))
    assert Department.objects.count() == 0


def test_a_duplicate_department_name_is_a_400_on_name(alice, alice_api, bob_api, department_factory):
    department_factory(alice.tenant, "Health Canada")
    other = department_factory(alice.tenant, "Transport Canada")
    assert errors_of(alice_api.post(DEPARTMENTS, {"name": "Health Canada"}, format="json")) == {
        "name": ["Another department in this organization already has this name."]}
    assert "name" in errors_of(alice_api.patch(f"{DEPARTMENTS}{other.pk}/", {"name": "Health Canada"}, format="json"))
    assert bob_api.post(DEPARTMENTS, {"name": "Health Canada"}, format="json").status_code == 201
    assert Department.objects.filter(tenant=alice.tenant).count() == 2


def test_an_unused_department_is_deleted(alice, alice_api, department_factory):
    department = department_factory(alice.tenant)
    assert alice_api.delete(f"{DEPARTMENTS}{department.pk}/").status_code == 204
    assert not Department.objects.exists()


def test_a_department_with_opportunities_is_a_400_and_stays(alice, alice_api, department_factory, opportunity_factory):
    department = department_factory(alice.tenant)
    opportunity_factory(alice.tenant, department=department)
    errors = errors_of(alice_api.delete(f"{DEPARTMENTS}{department.pk}/"))
    assert errors == {"department": ["1 opportunity is for this department: choose another department on them first."]}
    assert Department.objects.filter(pk=department.pk).exists()


def test_viewers_cannot_delete_departments(alice, api_as, department_factory):
    department = department_factory(alice.tenant)
    assert api_as(alice.viewer_membership).delete(f"{DEPARTMENTS}{department.pk}/").status_code == 403
    assert Department.objects.filter(pk=department.pk).exists()


def test_another_tenants_department_cannot_be_deleted(alice, bob_api, department_factory):
    department = department_factory(alice.tenant)
    assert bob_api.delete(f"{DEPARTMENTS}{department.pk}/").status_code == 404
    assert Department.objects.filter(pk=department.pk).exists()


# --- comments ------------------------------------------------------------------------------

def test_comments_are_posted_and_listed_under_their_opportunity(alice, alice_api, opportunity_factory):
    opportunity = opportunity_factory(alice.tenant)
    url = f"{API}/opportunities/{opportunity.pk}/comments/"
    response = alice_api.post(url, {"body": "Call the buyer Monday."}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["author"], response.json()["author_username"], response.json()["opportunity"]) == (
        alice.member.pk, "alice-member", opportunity.pk)
    alice_api.post(url, {"body": "Done."}, format="json")
    assert [c["body"] for c in alice_api.get(url).json()["results"]] == ["Call the buyer Monday.", "Done."]
    comment_id = response.json()["id"]
    assert alice_api.get(f"{API}/comments/{comment_id}/").json()["body"] == "Call the buyer Monday."
    assert alice_api.get(f"{API}/comments/", {"opportunity": opportunity.pk}).json()["count"] == 2


@pytest.mark.parametrize("body, field", [({}, "body"), ({"body": ""}, "body"), ({"body": "   "}, "body"),
                                         ({"body": "b" * 32001}, "body")])
def test_bad_comments_are_400s(alice, alice_api, opportunity_factory, body, field):
    opportunity = opportunity_factory(alice.tenant)
    assert field in errors_of(alice_api.post(f"{API}/opportunities/{opportunity.pk}/comments/", body, format="json"))
    assert Comment.objects.count() == 0
